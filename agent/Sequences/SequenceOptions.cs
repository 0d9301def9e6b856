using System.ComponentModel.DataAnnotations;
using EdgeMl.Runtime.Validation;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Sequences;

/// <summary>The server's sequences of stateful models (the Open Inference Protocol's <c>sequence_id</c>).</summary>
internal sealed class SequenceOptions
{
    public const string Section = "EdgeMl:Sequences";

    /// <summary>Live sequences kept at most, over all models; starting one more evicts the one idle longest.</summary>
    [Range(1, 1_000_000)]
    public int MaxLive { get; set; } = 1024;

    /// <summary>A sequence not called for this long is ended, its state dropped.</summary>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);
}

[OptionsValidator]
internal sealed partial class SequenceOptionsValidator : IValidateOptions<SequenceOptions>;
