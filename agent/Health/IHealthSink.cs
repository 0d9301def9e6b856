using EdgeMl.Agent.Events;

namespace EdgeMl.Agent.Health;

/// <summary>
/// A transport the health document leaves by (the twin, MQTT, telemetry). A transport registers its sink with
/// <c>TryAddEnumerable</c> only when the transport is configured; <see cref="HealthReportingService"/> decides when
/// each sink sends, by its <see cref="Schedule"/>, and skips a document that did not change unless the schedule
/// repeats it.
/// </summary>
internal interface IHealthSink
{
    /// <summary>When this sink sends; read before every pass, so an interval may follow the desired state.</summary>
    HealthSchedule Schedule { get; }

    /// <summary>False while the transport cannot take a document (a twin with the hub away); the pass is skipped.</summary>
    bool IsReady => true;

    /// <summary>True when the far side may have lost the last document (a reconnect): the next pass sends it unchanged.</summary>
    bool NeedsResend => false;

    /// <returns>True when the document was delivered or handed to a queue that keeps it; false to send it again later.</returns>
    Task<bool> SendAsync(AgentHealth health, CancellationToken cancellationToken);

    /// <summary>An agent event as it is added; the sink sends the kinds its readers want, without blocking.</summary>
    void Send(AgentEvent e);
}

/// <summary>What wakes a sink between its intervals.</summary>
internal enum HealthOnChange
{
    /// <summary>Changes wait for the interval.</summary>
    Ignore,

    /// <summary>A change is sent after <see cref="HealthReportingService.Debounce"/>, with whatever followed it.</summary>
    Debounce,

    /// <summary>A change is sent at once, but never sooner than an interval after the last send: one document an interval at most.</summary>
    Coalesce,
}

/// <param name="Interval">The longest a sink goes without a pass.</param>
/// <param name="OnChange">How a change signal brings the next pass forward.</param>
/// <param name="RepeatOnInterval">Whether the interval's pass sends an unchanged document (fresh timestamps and counters).</param>
internal readonly record struct HealthSchedule(TimeSpan Interval, HealthOnChange OnChange, bool RepeatOnInterval);
