using System.Collections.Concurrent;

namespace EdgeMl.CloudSync.IoTHub;

internal readonly record struct TwinResponse(IoTHubError Error, int Status, long? Version, ReadOnlyMemory<byte> Body, string? Message);

/// <summary>Twin requests waiting for their <c>$rid</c> answer.</summary>
internal sealed class PendingRequests
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<TwinResponse>> _waiting = new(StringComparer.Ordinal);

    public (string Rid, Task<TwinResponse> Answer) Add()
    {
        var rid = Guid.NewGuid().ToString("N");
        var tcs = new TaskCompletionSource<TwinResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[rid] = tcs;
        return (rid, tcs.Task);
    }

    public bool Complete(string rid, TwinResponse response) =>
        _waiting.TryRemove(rid, out var tcs) && tcs.TrySetResult(response);

    public void Remove(string rid) => _waiting.TryRemove(rid, out _);

    public void FailAll(IoTHubError error, string message)
    {
        foreach (var rid in _waiting.Keys)
        {
            Complete(rid, new TwinResponse(error, 0, null, default, message));
        }
    }
}
