using System.Diagnostics;
using EdgeMl.Runtime.Diagnostics;

namespace EdgeMl.Agent.Telemetry;

/// <summary>
/// Where the agent's traces begin: a prediction at its front door, a model sync at its pass. Each returns null when
/// nothing listens, and every caller writes <c>using var trace = …</c> and <c>trace?.…</c>.
/// </summary>
internal static class Traces
{
    public const string Http = "http";
    public const string Grpc = "grpc";
    public const string EdgeHub = "edgehub";
    public const string Gpio = "gpio";

    /// <summary>
    /// A prediction's root span, or its continuation when the caller sent a W3C <c>traceparent</c> (HTTP and gRPC
    /// headers, an edgeHub message's correlation id when it carries one). A value that is not a trace context is kept
    /// as the correlation id but starts a trace of its own.
    /// </summary>
    public static Activity? StartPrediction(string door, string model, string? traceparent, string? tracestate = null, string? correlationId = null)
    {
        if (!EdgeMlTracing.Source.HasListeners())
        {
            return null;
        }

        var parent = traceparent is not null && ActivityContext.TryParse(traceparent, tracestate, isRemote: true, out var remote) ? remote : default;
        var kind = door is EdgeHub ? ActivityKind.Consumer : door is Gpio ? ActivityKind.Internal : ActivityKind.Server;

        // Never under Activity.Current: ASP.NET Core keeps a request activity of its own that nothing here exports,
        // and a span under it would point at a parent no collector ever sees.
        Activity.Current = null;
        var activity = EdgeMlTracing.Source.StartActivity(door is Gpio ? $"{door} trigger" : $"{door} infer", kind, parent);
        activity?.SetTag("edgeml.front_door", door);
        activity?.SetTag("edgeml.model", model);
        if (correlationId is not null)
        {
            activity?.SetTag("messaging.message.conversation_id", correlationId);
        }

        return activity;
    }

    /// <summary>One model's pass of model sync: check, download, verify, load, warm-up, golden check, activate.</summary>
    public static Activity? StartSync(string model, string desiredVersion)
    {
        if (!EdgeMlTracing.Source.HasListeners())
        {
            return null;
        }

        Activity.Current = null;
        var activity = EdgeMlTracing.Source.StartActivity("model.sync", ActivityKind.Internal);
        activity?.SetTag("edgeml.model", model);
        activity?.SetTag("edgeml.model.desired_version", desiredVersion);
        return activity;
    }

    /// <summary>Marks a span failed with the reason a person would read.</summary>
    public static void Fail(this Activity? activity, string reason) => activity?.SetStatus(ActivityStatusCode.Error, reason);
}
