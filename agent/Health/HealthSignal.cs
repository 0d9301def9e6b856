namespace EdgeMl.Agent.Health;

/// <summary>An auto-reset wake-up for a reporter loop whose timeouts run on a <see cref="TimeProvider"/> (fake in tests).</summary>
internal sealed class HealthSignal
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Set()
    {
        lock (_lock)
        {
            _next.TrySetResult();
        }
    }

    /// <returns>True when woken by <see cref="Set"/>, false when <paramref name="timeout"/> passed first.</returns>
    public async Task<bool> WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        Task signalled;
        lock (_lock)
        {
            signalled = _next.Task;
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = timeout == Timeout.InfiniteTimeSpan ? Task.Delay(Timeout.Infinite, cancel.Token) : Task.Delay(timeout, time, cancel.Token);
        var first = await Task.WhenAny(signalled, delay).ConfigureAwait(false);
        await cancel.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        if (first != signalled)
        {
            return false;
        }

        lock (_lock)
        {
            if (_next.Task == signalled)
            {
                _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        return true;
    }
}
