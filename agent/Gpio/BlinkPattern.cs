namespace EdgeMl.Agent.Gpio;

/// <summary>
/// A repeating on/off pattern, each signal its own so one LED tells them apart: serving steady on, degraded a slow
/// 1 s blink, error a fast 150 ms flicker, updating a double flash every second, off dark.
/// </summary>
internal sealed class BlinkPattern
{
    private readonly (bool On, TimeSpan Duration)[] _steps;
    private readonly TimeSpan _period;

    private BlinkPattern(params (bool On, TimeSpan Duration)[] steps)
    {
        _steps = steps;
        _period = TimeSpan.FromTicks(steps.Sum(s => s.Duration.Ticks));
    }

    public static BlinkPattern SteadyOn { get; } = new((true, TimeSpan.Zero));

    public static BlinkPattern SteadyOff { get; } = new((false, TimeSpan.Zero));

    public static BlinkPattern Slow { get; } = new((true, Ms(1000)), (false, Ms(1000)));

    public static BlinkPattern Fast { get; } = new((true, Ms(150)), (false, Ms(150)));

    public static BlinkPattern DoubleFlash { get; } = new((true, Ms(100)), (false, Ms(100)), (true, Ms(100)), (false, Ms(700)));

    public bool IsSteady => _period == TimeSpan.Zero;

    public static BlinkPattern For(AgentSignal signal) => signal switch
    {
        AgentSignal.Serving => SteadyOn,
        AgentSignal.Degraded => Slow,
        AgentSignal.Error => Fast,
        AgentSignal.Updating => DoubleFlash,
        _ => SteadyOff,
    };

    /// <summary>Whether the light is on <paramref name="elapsed"/> after the pattern started, and how long until that changes.</summary>
    public (bool On, TimeSpan Remaining) At(TimeSpan elapsed)
    {
        if (IsSteady)
        {
            return (_steps[0].On, TimeSpan.MaxValue);
        }

        var position = TimeSpan.FromTicks(Math.Max(0, elapsed.Ticks) % _period.Ticks);
        foreach (var (on, duration) in _steps)
        {
            if (position < duration)
            {
                return (on, duration - position);
            }

            position -= duration;
        }

        return (_steps[^1].On, _steps[^1].Duration);
    }

    private static TimeSpan Ms(int milliseconds) => TimeSpan.FromMilliseconds(milliseconds);
}
