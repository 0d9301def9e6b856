namespace EdgeMl.CloudSync.IoTHub;

/// <summary>
/// Capped exponential back-off with jitter: attempt 0 (the first retry after a working connection) is
/// immediate, as in the Node SDK; attempt n waits <c>min * 2^(n-1) * U[0.8, 1.2)</c>, kept within [min, max].
/// </summary>
internal sealed class ReconnectBackoff(TimeSpan min, TimeSpan max, Func<double> random)
{
    public TimeSpan Next(int attempt)
    {
        if (attempt <= 0)
        {
            return TimeSpan.Zero;
        }

        var exponent = Math.Min(attempt - 1, 30);
        var ms = min.TotalMilliseconds * Math.Pow(2, exponent) * (0.8 + (0.4 * random()));
        return TimeSpan.FromMilliseconds(Math.Clamp(ms, min.TotalMilliseconds, max.TotalMilliseconds));
    }
}
