namespace EdgeMl.Agent.Sequences;

/// <summary>
/// The Open Inference Protocol's sequence parameters of one request: <c>sequence_id</c> (a string, or an unsigned
/// integer written as one), <c>sequence_start</c>, <c>sequence_end</c>.
/// </summary>
internal sealed record SequenceParameters(string Id, bool Start, bool End);

/// <summary>A sequence call that cannot go on as asked.</summary>
/// <param name="Unknown">The sequence is not live (never started, ended, idled out or evicted): HTTP 400, gRPC FAILED_PRECONDITION.</param>
internal sealed class SequenceException(string message, bool unknown) : Exception(message)
{
    public bool Unknown { get; } = unknown;
}
