using EdgeMl.Runtime.Serving;

namespace EdgeMl.Runtime.Tests.Serving;

public sealed class BatchingChooserTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [Fact]
    public void Start_ServesUnbatched_ThenTriesBatched()
    {
        var chooser = new BatchingChooser();
        Assert.Equal(BatchingMode.Unbatched, chooser.Next);
        Assert.Null(chooser.Choice.UnbatchedRate);

        chooser.Complete(BatchingMode.Unbatched, 1000, Second);

        Assert.Equal(BatchingMode.Batched, chooser.Next);
        Assert.True(chooser.Trial);
        Assert.Equal(1000, chooser.Choice.UnbatchedRate);
        Assert.StartsWith("trying batched", chooser.Choice.Reason, StringComparison.Ordinal);
    }

    // Predictions per busy second measured unbatched, then batched: which serves afterwards.
    [Theory]
    [InlineData(1000, 2000, BatchingMode.Batched)]    // batching pays (a GPU, a large model)
    [InlineData(2000, 1000, BatchingMode.Unbatched)]  // batching loses (this CPU, the classifier)
    [InlineData(1000, 1020, BatchingMode.Unbatched)]  // within the margin: no switch on noise
    [InlineData(1000, 1040, BatchingMode.Batched)]    // beyond the margin
    public void AfterBothMeasured_TheFasterServes(long unbatched, long batched, BatchingMode expected)
    {
        var chooser = new BatchingChooser();

        chooser.Complete(BatchingMode.Unbatched, unbatched, Second);
        var changed = chooser.Complete(BatchingMode.Batched, batched, Second);

        Assert.Equal(expected, chooser.Next);
        Assert.False(chooser.Trial);
        Assert.Equal(expected == BatchingMode.Batched, changed);
        var (won, lost) = expected == BatchingMode.Batched ? ("batched", "unbatched") : ("unbatched", "batched");
        Assert.StartsWith($"{won}: ", chooser.Choice.Reason, StringComparison.Ordinal);
        Assert.EndsWith($" {lost}", chooser.Choice.Reason, StringComparison.Ordinal);
        Assert.Equal(expected, chooser.Choice.Mode);
    }

    [Fact]
    public void AfterHoldWindows_TheOtherIsTriedAgain_AndTakesOverWhenTrafficChanged()
    {
        var chooser = new BatchingChooser();
        chooser.Complete(BatchingMode.Unbatched, 2000, Second);
        chooser.Complete(BatchingMode.Batched, 1000, Second);

        // Batching measured half as fast: its trial window lasts twice as long, so it comes half as often.
        Assert.Equal(2 * BatchingChooser.HoldWindows, chooser.Hold);
        for (var i = 0; i < chooser.Hold - 1; i++)
        {
            chooser.Complete(BatchingMode.Unbatched, 2000, Second);
            Assert.Equal(BatchingMode.Unbatched, chooser.Next);
        }

        chooser.Complete(BatchingMode.Unbatched, 2000, Second);
        Assert.Equal(BatchingMode.Batched, chooser.Next);
        Assert.True(chooser.Trial);

        // Many more callers now: batching's rate has risen above unbatched serving's.
        Assert.True(chooser.Complete(BatchingMode.Batched, 3000, Second));
        Assert.Equal(BatchingMode.Batched, chooser.Next);
        Assert.Equal("batched: 3000 predictions per busy second against 2000 unbatched", chooser.Choice.Reason);
    }

    [Fact]
    public void WindowWithoutTraffic_ChangesNothing()
    {
        var chooser = new BatchingChooser();

        Assert.False(chooser.Complete(BatchingMode.Unbatched, 0, TimeSpan.Zero));
        Assert.False(chooser.Complete(BatchingMode.Unbatched, 10, TimeSpan.Zero));

        Assert.Equal(BatchingMode.Unbatched, chooser.Next);
        Assert.Null(chooser.Choice.UnbatchedRate);
    }

    // The bar: auto serves within 5 % of the better way, trials included, whichever way wins and by how much.
    [Theory]
    [InlineData(2000, 1000)]
    [InlineData(1000, 2000)]
    [InlineData(1000, 100)]
    [InlineData(100, 1000)]
    [InlineData(1000, 1000)]
    [InlineData(1000, 1029)]
    public void SteadyTraffic_ServesWithinFivePercentOfTheBetterWay(double unbatched, double batched)
    {
        var chooser = new BatchingChooser();
        const long Window = 256;
        double predictions = 0, seconds = 0;
        for (var i = 0; i < 1000; i++)
        {
            var mode = chooser.Next;
            var rate = mode == BatchingMode.Batched ? batched : unbatched;
            var busy = TimeSpan.FromSeconds(Window / rate);
            chooser.Complete(mode, Window, busy);
            predictions += Window;
            seconds += busy.TotalSeconds;
        }

        var served = predictions / seconds;
        Assert.True(served >= 0.95 * Math.Max(unbatched, batched), $"{served:F0} per second against the better {Math.Max(unbatched, batched):F0}");
    }
}
