using EdgeMl.Agent.Events;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.Health;

/// <summary>
/// The one health reporting loop: it watches every contributor's change signal and the event log, and sends the
/// document to each registered <see cref="IHealthSink"/> when that sink's <see cref="HealthSchedule"/> says so —
/// at start, after a debounce or coalesced to one an interval on change, and every interval. The document is
/// collected once a pass and fingerprinted, so an unchanged one is not sent again unless the schedule repeats it
/// or the sink asks for a resend. Events go to every sink as they are added.
/// </summary>
internal sealed class HealthReportingService(
    HealthCollector collector, IEnumerable<IHealthSink> sinks, AgentEventLog events, TimeProvider time, ILogger<HealthReportingService> logger) : BackgroundService
{
    /// <summary>How long a change waits for the ones that usually follow it (an activation brings sync and event changes).</summary>
    public static readonly TimeSpan Debounce = TimeSpan.FromSeconds(1);

    private readonly IHealthSink[] _sinks = [.. sinks];
    private readonly HealthSignal _signal = new();

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        events.Added += OnEvent;
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        events.Added -= OnEvent;
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_sinks.Length == 0)
        {
            return;
        }

        using var watch = collector.Watch(_signal.Set);
        var start = time.GetUtcNow();
        var states = _sinks.Select(s => new SinkState(s, start)).ToArray();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await PassAsync(states, stoppingToken).ConfigureAwait(false);
                var now = time.GetUtcNow();
                var wait = states.Min(s => s.NextAt()) - now;
                if (await _signal.WaitAsync(wait < TimeSpan.Zero ? TimeSpan.Zero : wait, time, stoppingToken).ConfigureAwait(false))
                {
                    now = time.GetUtcNow();
                    foreach (var state in states)
                    {
                        state.Changed(now);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task PassAsync(SinkState[] states, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        (AgentHealth Document, string Fingerprint)? health = null;
        foreach (var state in states)
        {
            if (state.Due(now) is not { } onInterval)
            {
                continue;
            }

            try
            {
                if (!state.Sink.IsReady)
                {
                    continue;
                }

                health ??= Collect();
                if (health.Value.Fingerprint == state.LastFingerprint && !(onInterval && state.Schedule.RepeatOnInterval) && !state.Sink.NeedsResend)
                {
                    continue;
                }

                var sent = await state.Sink.SendAsync(health.Value.Document, cancellationToken).ConfigureAwait(false);
                state.Sent(now, sent ? health.Value.Fingerprint : null);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Reporting must never take the agent down; the sink's next interval tries again with a fresh document.
                Log.HealthPassFailed(logger, e);
            }
        }
    }

    private (AgentHealth, string) Collect()
    {
        var document = collector.Collect();
        return (document, HealthJson.Fingerprint(HealthJson.ToTwin(document)));
    }

    private void OnEvent(object? sender, AgentEvent e)
    {
        foreach (var sink in _sinks)
        {
            sink.Send(e);
        }

        _signal.Set();
    }

    /// <summary>One sink's place in the loop: when it last passed and sent, whether a change waits, what it last delivered.</summary>
    private sealed class SinkState(IHealthSink sink, DateTimeOffset start)
    {
        private DateTimeOffset _lastPass = start;
        private DateTimeOffset? _lastSent;

        // A sink that reacts to changes sends once at start; one that does not waits for its first interval.
        private DateTimeOffset? _changedAt = sink.Schedule.OnChange == HealthOnChange.Ignore ? null : start;
        private bool _first = true;

        public IHealthSink Sink => sink;

        public HealthSchedule Schedule { get; private set; } = sink.Schedule;

        public string? LastFingerprint { get; private set; }

        public void Changed(DateTimeOffset now)
        {
            if (Schedule.OnChange != HealthOnChange.Ignore)
            {
                _changedAt ??= now;
            }
        }

        public DateTimeOffset NextAt()
        {
            Schedule = sink.Schedule;
            var next = _lastPass + Schedule.Interval;
            return _changedAt is { } changed && ChangeDueAt(changed) < next ? ChangeDueAt(changed) : next;
        }

        /// <returns>Null when this sink is not due at <paramref name="now"/>; else whether its interval (rather than a change) brought it.</returns>
        public bool? Due(DateTimeOffset now)
        {
            Schedule = sink.Schedule;
            bool? due = _changedAt is { } changed && ChangeDueAt(changed) <= now ? false
                : _lastPass + Schedule.Interval <= now ? true
                : null;
            if (due is not null)
            {
                _lastPass = now;
                _changedAt = null;
                _first = false;
            }

            return due;
        }

        public void Sent(DateTimeOffset now, string? fingerprint)
        {
            _lastSent = now;
            if (fingerprint is not null)
            {
                LastFingerprint = fingerprint;
            }
        }

        private DateTimeOffset ChangeDueAt(DateTimeOffset changed) => Schedule.OnChange switch
        {
            _ when _first => changed,
            HealthOnChange.Debounce => changed + Debounce,
            HealthOnChange.Coalesce when _lastSent is { } sent && sent + Schedule.Interval > changed => sent + Schedule.Interval,
            _ => changed,
        };
    }
}
