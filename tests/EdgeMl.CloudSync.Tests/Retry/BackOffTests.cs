using EdgeMl.CloudSync.Retry;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.CloudSync.Tests.Retry;

public sealed class BackOffTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 100)]
    [InlineData(2, 200)]
    [InlineData(5, 1600)]
    [InlineData(20, 10000)]
    [InlineData(int.MaxValue, 10000)]
    public void Delay_Failures_DoublingFromTheMinimumCappedWithNoWaitBeforeAFailure(int failures, int expectedMs)
    {
        var backOff = new BackOff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10), random: () => 0.5);

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), backOff.Delay(failures));
    }

    [Fact]
    public void Delay_Jitter_StaysWithinTwentyPercentAndBounds()
    {
        var low = new BackOff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), random: () => 0.0);
        var high = new BackOff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), random: () => 0.999);

        Assert.Equal(TimeSpan.FromSeconds(3.2), low.Delay(3));
        Assert.InRange(high.Delay(3).TotalSeconds, 4.79, 4.8);
        Assert.Equal(TimeSpan.FromSeconds(1), low.Delay(1));
    }

    [Fact]
    public void Delay_NoJitter_ExactAndUnboundedMaximumDoesNotOverflow()
    {
        var backOff = new BackOff(TimeSpan.FromSeconds(2), TimeSpan.MaxValue, jitter: 0, random: () => throw new InvalidOperationException("no draw without jitter"));

        Assert.Equal(TimeSpan.FromSeconds(8), backOff.Delay(3));
        Assert.Equal(TimeSpan.FromSeconds(2 * Math.Pow(2, 30)), backOff.Delay(1000));
    }

    [Fact]
    public async Task WaitAsync_OnTheGivenClock_EndsWhenItsTimeHasPassed()
    {
        var time = new FakeTimeProvider();
        var backOff = new BackOff(TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(1), jitter: 0);

        var waiting = backOff.WaitAsync(2, time, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(waiting.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(backOff.WaitAsync(0, time, CancellationToken.None).IsCompletedSuccessfully);
    }

    [Fact]
    public void Full_ThousandClientsFailingTogether_SpreadOverTheWholeWindowTheCapIncluded()
    {
        var random = new Random(12);
        var backOff = BackOff.Full(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(120), TimeSpan.Zero, random.NextDouble);

        // At the cap: the plain back-off sends everyone at exactly the maximum, in step.
        var atCap = Enumerable.Range(0, 1000).Select(_ => backOff.Delay(30).TotalSeconds).ToArray();
        Assert.All(atCap, d => Assert.InRange(d, 0.1, 120));
        Assert.True(atCap.Distinct().Count() > 990, "every client draws its own wait");

        // No one-second slot of the window takes more than a few per cent of the fleet (uniform: 1/120 each).
        var busiest = atCap.GroupBy(d => (int)d).Max(g => g.Count());
        Assert.InRange(busiest, 1, 30);

        // Before the cap the ceiling doubles: after 4 failures the waits lie within [0.1 s, 0.8 s].
        var early = Enumerable.Range(0, 1000).Select(_ => backOff.Delay(4).TotalSeconds).ToArray();
        Assert.All(early, d => Assert.InRange(d, 0.1, 0.8));
        Assert.True(early.Max() - early.Min() > 0.6);
        Assert.Equal(TimeSpan.Zero, backOff.Delay(0));
    }

    [Theory]
    [InlineData(0, 5, false)] // doubling from 100 ms: the fleet comes back within a few seconds of the hub
    [InlineData(120, 600, false)] // a 2 min window: 10,000 devices retry at 10,000 / 60 s, 167 a second
    [InlineData(240, 5, true)] // the default spread: every wait after a failed attempt is drawn over 4 min
    [InlineData(240, 600, true)]
    public void Full_TenThousandDevicesHubDownForAWhile_BackWithinTheNewConnectionThrottleOnlyWithTheSpread(int spreadSeconds, double outageSeconds, bool within)
    {
        var random = new Random(7);
        var backOff = BackOff.Full(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(Math.Max(spreadSeconds, 120)), TimeSpan.FromSeconds(spreadSeconds), random.NextDouble);

        // Each device retries at once when its connection drops (t = 0) and fails while the hub is down; the first
        // attempt at or after the hub's return is the one that connects.
        var arrivals = new int[400];
        for (var device = 0; device < 10_000; device++)
        {
            var (at, failures) = (0.0, 0);
            while (at < outageSeconds)
            {
                at += backOff.Delay(++failures).TotalSeconds;
            }

            arrivals[(int)(at - outageSeconds)]++;
        }

        // IoT Hub shapes a short burst above its throttle; what must stay within it is the rate over a few seconds.
        var busiest = Enumerable.Range(0, arrivals.Length - 10).Max(s => arrivals.AsSpan(s, 10).ToArray().Sum()) / 10.0;
        Assert.True(within == busiest <= 100, $"busiest 10 s after the hub came back: {busiest} connections a second (busiest second {arrivals.Max()})");
    }

    [Fact]
    public void Full_SpreadAboveTheMaximum_KeptWithinIt()
    {
        var backOff = BackOff.Full(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(2), () => 0.999999);

        Assert.InRange(backOff.Delay(1).TotalSeconds, 1.99, 2);
    }

    [Fact]
    public void Constructor_MaximumBelowMinimum_Refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BackOff(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1)));
    }
}
