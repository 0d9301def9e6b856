using EdgeMl.Agent.Drift;

namespace EdgeMl.Agent.Tests.Drift;

public class SlidingHistogramTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(-5.0, 0)]
    [InlineData(0.0, 0)]
    [InlineData(0.99, 0)]
    [InlineData(1.0, 1)]
    [InlineData(2.5, 2)]
    [InlineData(3.0, 2)]
    [InlineData(100.0, 2)]
    [InlineData(double.NaN, -1)]
    public void BinOf_Edges_ClampsOutsideValuesToEndBins(double value, int bin)
    {
        var h = new SlidingHistogram([0, 1, 2, 3], 3, TimeSpan.FromMinutes(1), 6);
        Assert.Equal(bin, h.BinOf(value));
    }

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(2.0, 2)]
    [InlineData(3.0, -1)]
    [InlineData(-1.0, -1)]
    public void BinOf_Classes_IndexOrNone(double value, int bin)
    {
        var h = new SlidingHistogram(null, 3, TimeSpan.FromMinutes(1), 6);
        Assert.Equal(bin, h.BinOf(value));
    }

    [Fact]
    public void Snapshot_AfterWindow_OldSliceLeaves()
    {
        // 60 s window in six 10 s slices.
        var h = new SlidingHistogram([0, 1, 2], 2, TimeSpan.FromSeconds(60), 6);
        h.Add(0.5, Start);
        h.Add(1.5, Start.AddSeconds(30));
        h.Add(1.5, Start.AddSeconds(31));

        Assert.Equal([1L, 2L], h.Snapshot(Start.AddSeconds(59), out var total));
        Assert.Equal(3, total);
        Assert.Equal([0L, 2L], h.Snapshot(Start.AddSeconds(60), out total));
        Assert.Equal(2, total);
        Assert.Equal([0L, 0L], h.Snapshot(Start.AddSeconds(120), out total));
        Assert.Equal(0, total);
    }

    [Fact]
    public void Add_SlotReusedAfterWindow_ClearsOldCounts()
    {
        var h = new SlidingHistogram([0, 1, 2], 2, TimeSpan.FromSeconds(60), 6);
        h.Add(0.5, Start);
        h.Add(1.5, Start.AddSeconds(60)); // same ring slot, a window later
        Assert.Equal([0L, 1L], h.Snapshot(Start.AddSeconds(61), out _));
    }
}
