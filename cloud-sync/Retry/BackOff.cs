namespace EdgeMl.CloudSync.Retry;

/// <summary>
/// The one back-off of the house (model sync, IoT Hub reconnects, capture upload, downloads): after the first
/// failure the minimum, doubling with each further one, within [min, max], spread by ±<c>jitter</c> so ten thousand
/// devices that lost the same link do not come back in step. No failure, no wait.
/// </summary>
public sealed class BackOff
{
    private readonly TimeSpan _min;
    private readonly TimeSpan _max;
    private readonly double _jitter;
    private readonly Func<double> _random;
    private readonly bool _full;
    private readonly TimeSpan _spread;

    /// <param name="jitter">The spread as a fraction of the delay: 0.2 waits between 0.8 and 1.2 of it; 0 is exact.</param>
    /// <param name="random">A uniform draw in [0, 1); replaceable for tests.</param>
    public BackOff(TimeSpan min, TimeSpan max, double jitter = 0.2, Func<double>? random = null)
        : this(min, max, jitter, random, full: false, TimeSpan.Zero)
    {
    }

    private BackOff(TimeSpan min, TimeSpan max, double jitter, Func<double>? random, bool full, TimeSpan spread)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(spread, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(min, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, min);
        ArgumentOutOfRangeException.ThrowIfNegative(jitter);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(jitter, 1.0);
        _min = min;
        _max = max;
        _jitter = jitter;
        _random = random ?? Random.Shared.NextDouble;
        _full = full;
        _spread = spread > max ? max : spread;
    }

    /// <summary>
    /// "Full jitter": each wait is drawn uniformly between the minimum and the doubling ceiling (itself capped at the
    /// maximum). Clients that lost the same server at the same moment do not retry in step, the cap included; for
    /// IoT Hub reconnects, where the hub's new-connection throttle is per hub, not per device.
    /// </summary>
    /// <param name="spread">
    /// The least ceiling (within the maximum): from the first failure on, waits are drawn over at least this window,
    /// so a fleet whose server was down for a moment does not come back in step when it returns. Zero: the ceiling
    /// starts at the minimum.
    /// </param>
    public static BackOff Full(TimeSpan min, TimeSpan max, TimeSpan spread, Func<double>? random = null) => new(min, max, 0, random, full: true, spread);

    /// <summary>The wait after <paramref name="failures"/> failures in a row.</summary>
    public TimeSpan Delay(int failures)
    {
        if (failures <= 0)
        {
            return TimeSpan.Zero;
        }

        if (_full)
        {
            var doubled = _min.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30));
            var ceiling = Math.Min(Math.Max(doubled, _spread.TotalMilliseconds), _max.TotalMilliseconds);
            return TimeSpan.FromMilliseconds(_min.TotalMilliseconds + ((ceiling - _min.TotalMilliseconds) * _random()));
        }

        var spread = _jitter == 0 ? 1.0 : 1.0 - _jitter + (2 * _jitter * _random());
        var ms = _min.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30)) * spread;
        return ms >= _max.TotalMilliseconds ? _max : ms <= _min.TotalMilliseconds ? _min : TimeSpan.FromMilliseconds(ms);
    }

    /// <summary>Waits out <see cref="Delay"/> on <paramref name="time"/>.</summary>
    public Task WaitAsync(int failures, TimeProvider time, CancellationToken cancellationToken) =>
        Delay(failures) is { } delay && delay > TimeSpan.Zero ? Task.Delay(delay, time, cancellationToken) : Task.CompletedTask;
}
