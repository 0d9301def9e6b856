using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.Testing;

/// <summary>
/// The suite's one way to wait for a condition: poll until it holds, fail with what did not happen. The guard is
/// real time and only stops a hang (a loaded CI machine is slow, so it is generous); no test asserts on how long a
/// wait took.
/// </summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultGuard = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);

    /// <summary>Waits in real time until <paramref name="condition"/> holds.</summary>
    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? guard = null) =>
        UntilAsync(() => Task.FromResult(condition()), what, guard);

    /// <summary>Waits in real time until the asynchronous <paramref name="condition"/> holds.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? guard = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var limit = guard ?? DefaultGuard;
        var clock = Stopwatch.StartNew();
        while (!await condition().ConfigureAwait(false))
        {
            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"{what} did not happen within {limit.TotalSeconds:0} s");
            }

            await Task.Delay(Poll).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Moves <paramref name="time"/> by <paramref name="step"/> (default one second) between polls until
    /// <paramref name="condition"/> holds, so loops waiting on the fake clock run in between.
    /// </summary>
    public static async Task AdvanceUntilAsync(FakeTimeProvider time, Func<bool> condition, string what, TimeSpan? step = null, TimeSpan? guard = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(condition);
        var limit = guard ?? DefaultGuard;
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"{what} did not happen within {limit.TotalSeconds:0} s");
            }

            time.Advance(step ?? TimeSpan.FromSeconds(1));
            await Task.Delay(Poll).ConfigureAwait(false);
        }
    }
}
