using EdgeMl.Runtime.Sessions;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeMl.Runtime.Tests.Sessions;

public sealed class RunningLoadsTests
{
    [Fact]
    public async Task Stop_CancelsTheLoadsInFlightAndReturnsOnlyWhenTheyHaveEnded()
    {
        using var loads = new RunningLoads(NullLogger.Instance);
        var started = new TaskCompletionSource();
        var ended = false;
        var load = loads.Start(
            token =>
            {
                started.SetResult();
                token.WaitHandle.WaitOne();
                Thread.Sleep(200); // a load that takes a moment to notice
                ended = true;
                token.ThrowIfCancellationRequested();
                return 1;
            },
            CancellationToken.None);
        await started.Task;

        await loads.StopAsync();

        Assert.True(ended);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => load);
    }

    [Fact]
    public async Task Start_AfterStop_IsCancelledWithoutRunning_EvenOnceDisposed()
    {
        var loads = new RunningLoads(NullLogger.Instance);
        await loads.StopAsync();
        var ran = false;

        var afterStop = loads.Start(_ => ran = true, CancellationToken.None);
        loads.Dispose();
        var afterDispose = loads.Start(_ => ran = true, CancellationToken.None);

        Assert.True(afterStop.IsCanceled);
        Assert.True(afterDispose.IsCanceled);
        await loads.StopAsync();
        Assert.False(ran);
    }

    [Fact]
    public async Task Start_TheCallersCancellation_ReachesTheLoad()
    {
        using var loads = new RunningLoads(NullLogger.Instance);
        using var caller = new CancellationTokenSource();
        var started = new TaskCompletionSource();
        var load = loads.Start(
            token =>
            {
                started.SetResult();
                token.WaitHandle.WaitOne();
                token.ThrowIfCancellationRequested();
                return 1;
            },
            caller.Token);
        await started.Task;

        await caller.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => load);
    }
}
