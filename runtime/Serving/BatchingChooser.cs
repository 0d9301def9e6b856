using System.Globalization;

namespace EdgeMl.Runtime.Serving;

/// <summary>How an <c>auto</c> model is being served right now.</summary>
public enum BatchingMode
{
    Unbatched,
    Batched,
}

/// <summary>What <c>batching: auto</c> serves with, and why: the two rates last measured on live traffic.</summary>
/// <param name="Mode">The mode serving now (during a trial window, the mode on trial).</param>
/// <param name="Reason">The comparison that chose it, in words.</param>
/// <param name="UnbatchedRate">Predictions per second while busy, unbatched; null until measured.</param>
/// <param name="BatchedRate">The same, batched; null until measured.</param>
public sealed record BatchingChoice(BatchingMode Mode, string Reason, double? UnbatchedRate, double? BatchedRate);

/// <summary>
/// The decision of <c>batching: auto</c>, apart from any clock or model. Traffic is served in windows; after each the
/// caller reports how many predictions the window completed and for how long at least one request was in flight.
/// The rate compared is predictions per busy second: under a saturating load that is the throughput, under a light one
/// it is the inverse of the latency, so batching that only waits out its delay loses there, as it should.
/// Unbatched serves first (no delay added while nothing is known); then batched is tried for one window; the faster
/// serves for <see cref="HoldWindows"/> windows, after which the other is tried again for one window, since traffic
/// changes. Windows are counted in predictions, so a trial of a way r times slower lasts r times longer: the hold is
/// <see cref="HoldWindows"/> × r windows, which keeps trials under 1/25 of the time served at any r. A mode replaces the
/// one serving only when it was faster by more than <see cref="Margin"/>, so noise does not flip it back and forth.
/// </summary>
internal sealed class BatchingChooser
{
    /// <summary>Windows served by the better mode between two trials of the other, when both are as fast.</summary>
    public const int HoldWindows = 24;

    /// <summary>How much faster the other mode must be to take over (a fraction of the serving mode's rate).</summary>
    public const double Margin = 0.03;

    private double? _unbatched;
    private double? _batched;
    private BatchingMode _best = BatchingMode.Unbatched;
    private int _held;
    private int _hold = HoldWindows;
    private string _reason = "unbatched until both ways are measured on live traffic";

    /// <summary>The mode the next window serves with.</summary>
    public BatchingMode Next { get; private set; } = BatchingMode.Unbatched;

    /// <summary>Windows the better mode serves before the other is tried again.</summary>
    public int Hold => _hold;

    /// <summary>Whether the next window is a trial of the mode that is not the best one.</summary>
    public bool Trial => Next != _best;

    public BatchingChoice Choice => new(Next, Trial ? $"trying {Name(Next)}; {_reason}" : _reason, _unbatched, _batched);

    /// <summary>Records a finished window served by <paramref name="mode"/> and decides the next one.</summary>
    /// <returns>True when the best mode changed.</returns>
    public bool Complete(BatchingMode mode, long predictions, TimeSpan busy)
    {
        if (predictions <= 0 || busy <= TimeSpan.Zero)
        {
            // No traffic to learn from: keep serving as before.
            return false;
        }

        var rate = predictions / busy.TotalSeconds;
        if (mode == BatchingMode.Batched)
        {
            _batched = rate;
        }
        else
        {
            _unbatched = rate;
        }

        var before = _best;
        if (_unbatched is { } u && _batched is { } b)
        {
            var serving = _best == BatchingMode.Batched ? b : u;
            var other = _best == BatchingMode.Batched ? u : b;
            if (other > serving * (1 + Margin))
            {
                _best = Other(_best);
            }

            var (won, lost) = _best == BatchingMode.Batched ? (b, u) : (u, b);
            _hold = (int)Math.Min(int.MaxValue / 2, Math.Ceiling(HoldWindows * Math.Max(1, won / lost)));
            _reason = string.Create(CultureInfo.InvariantCulture,
                $"{Name(_best)}: {won:F0} predictions per busy second against {lost:F0} {Name(Other(_best))}");
        }

        if (mode != _best || before != _best)
        {
            // A trial (or the switch it caused) starts a new hold.
            _held = 0;
        }
        else
        {
            _held++;
        }

        Next = _batched is null ? BatchingMode.Batched
            : _held >= _hold ? Other(_best)
            : _best;
        return before != _best;
    }

    private static BatchingMode Other(BatchingMode mode) => mode == BatchingMode.Batched ? BatchingMode.Unbatched : BatchingMode.Batched;

    private static string Name(BatchingMode mode) => mode == BatchingMode.Batched ? "batched" : "unbatched";
}
