namespace EdgeMl.Agent.Drift;

/// <summary>
/// Bin counts over a sliding time window, kept as a ring of slices so old observations leave the window a slice
/// at a time without being stored one by one. Thread-safe.
/// </summary>
internal sealed class SlidingHistogram
{
    private readonly double[]? _edges;
    private readonly long[][] _slices;
    private readonly long[] _sliceIndex;
    private readonly long _sliceTicks;
    private readonly Lock _lock = new();

    /// <param name="edges">Ascending edges (bins = edges − 1), or null for <paramref name="bins"/> categories.</param>
    public SlidingHistogram(IReadOnlyList<double>? edges, int bins, TimeSpan window, int slices)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(slices, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, TimeSpan.FromTicks(slices));
        if (edges is not null && edges.Count != bins + 1)
        {
            throw new ArgumentException("Edges need one more entry than bins.", nameof(edges));
        }

        _edges = edges?.ToArray();
        Bins = bins;
        _sliceTicks = window.Ticks / slices;
        _slices = new long[slices][];
        _sliceIndex = new long[slices];
        for (var i = 0; i < slices; i++)
        {
            _slices[i] = new long[bins];
            _sliceIndex[i] = long.MinValue;
        }
    }

    public int Bins { get; }

    /// <summary>The bin of a value; values outside the edges go to the first or last bin; -1 for NaN.</summary>
    public int BinOf(double value)
    {
        if (double.IsNaN(value))
        {
            return -1;
        }

        if (_edges is null)
        {
            var c = Math.Floor(value);
            return c >= 0 && c < Bins ? (int)c : -1;
        }

        // Bin i holds edges[i] ≤ v < edges[i+1]; search among the inner edges.
        var lo = 0;
        var hi = Bins - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) >> 1;
            if (value >= _edges[mid])
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return lo;
    }

    /// <summary>Counts a value (a class index for categories); returns false when it fits no bin.</summary>
    public bool Add(double value, DateTimeOffset now)
    {
        var bin = BinOf(value);
        if (bin < 0)
        {
            return false;
        }

        lock (_lock)
        {
            Current(now)[bin]++;
        }

        return true;
    }

    /// <summary>The counts of the window ending at <paramref name="now"/>.</summary>
    public long[] Snapshot(DateTimeOffset now, out long total)
    {
        var result = new long[Bins];
        var index = now.UtcTicks / _sliceTicks;
        lock (_lock)
        {
            for (var s = 0; s < _slices.Length; s++)
            {
                if (_sliceIndex[s] > index - _slices.Length && _sliceIndex[s] <= index)
                {
                    for (var b = 0; b < Bins; b++)
                    {
                        result[b] += _slices[s][b];
                    }
                }
            }
        }

        total = result.Sum();
        return result;
    }

    private long[] Current(DateTimeOffset now)
    {
        var index = now.UtcTicks / _sliceTicks;
        var slot = (int)(index % _slices.Length);
        if (_sliceIndex[slot] != index)
        {
            Array.Clear(_slices[slot]);
            _sliceIndex[slot] = index;
        }

        return _slices[slot];
    }
}
