using Microsoft.Extensions.Logging;

namespace EdgeMl.Runtime.Sessions;

/// <summary>
/// The loads a <see cref="ModelLoader"/> has in flight. Each runs on a worker thread under the loader's stop; stopping
/// cancels them all and waits for them, up to <see cref="StopWait"/>, so that no worker thread is left inside ONNX
/// Runtime when the process exits (its native state torn down under that thread aborts the process: "Fatal error in
/// cpuinfo" and exit code 134 when a port in use failed the agent's start).
/// </summary>
internal sealed class RunningLoads(ILogger logger) : IDisposable
{
    /// <summary>How long stopping waits for loads in flight: a warm-up run stops at once, a session's creation cannot.</summary>
    internal static readonly TimeSpan StopWait = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly HashSet<Task> _loads = [];

    /// <summary>Runs <paramref name="load"/> on a worker thread, with a token cancelled by the caller's or by <see cref="StopAsync"/>.</summary>
    /// <returns>The load, or a cancelled task once stopping has begun (a load either is tracked before stopping waits, or never starts).</returns>
    public Task<T> Start<T>(Func<CancellationToken, T> load, CancellationToken cancellationToken)
    {
        CancellationTokenSource linked;
        Task<T> running;
        lock (_gate)
        {
            if (_stopping.IsCancellationRequested)
            {
                return Task.FromCanceled<T>(new CancellationToken(canceled: true));
            }

            linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
            running = Task.Run(() => load(linked.Token), linked.Token);
            _loads.Add(running);
        }

        _ = running.ContinueWith(
            (done, state) =>
            {
                var loads = (RunningLoads)state!;
                lock (loads._gate)
                {
                    loads._loads.Remove(done);
                }

                linked.Dispose();
            },
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return running;
    }

    /// <summary>Cancels the loads in flight and waits for them, up to <see cref="StopWait"/>; later starts are refused.</summary>
    public async Task StopAsync()
    {
        Task[] loads;
        lock (_gate)
        {
            if (_stopping.IsCancellationRequested)
            {
                return;
            }

            _stopping.Cancel();
            loads = [.. _loads];
        }

        if (loads.Length == 0)
        {
            return;
        }

        var all = Task.WhenAll(loads);
        if (await Task.WhenAny(all, Task.Delay(StopWait)).ConfigureAwait(false) != all)
        {
            Log.LoadOutlivedStop(logger, loads.Count(l => !l.IsCompleted), StopWait.TotalSeconds);
        }
    }

    /// <summary>Frees the stop's token source; call after <see cref="StopAsync"/>, whose refusal of later starts holds after it.</summary>
    public void Dispose() => _stopping.Dispose();
}
