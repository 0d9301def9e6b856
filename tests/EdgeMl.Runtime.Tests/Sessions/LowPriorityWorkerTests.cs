using EdgeMl.Runtime.Sessions;

namespace EdgeMl.Runtime.Tests.Sessions;

public sealed class LowPriorityWorkerTests
{
    [Fact]
    public void Run_OnLinux_RunsOnItsOwnThreadAtNiceNineteenAndReturnsTheResult()
    {
        using var worker = new LowPriorityWorker("test shadow");

        var (thread, nice) = worker.Run(() => (Environment.CurrentManagedThreadId, LowPriorityWorker.CurrentNice()));

        Assert.NotEqual(Environment.CurrentManagedThreadId, thread);
        Assert.Equal(OperatingSystem.IsLinux() ? LowPriorityWorker.Nice : null, nice);
        Assert.Equal(OperatingSystem.IsLinux(), worker.Lowered);
        Assert.NotEqual(LowPriorityWorker.Nice, LowPriorityWorker.CurrentNice()); // the caller's own priority is untouched
        Assert.Equal(thread, worker.Run(() => Environment.CurrentManagedThreadId)); // one thread for every job
    }

    [Fact]
    public void Run_WorkThrows_TheCallerGetsTheExceptionAndTheWorkerGoesOn()
    {
        using var worker = new LowPriorityWorker("test shadow");

        Assert.Equal("boom", Assert.Throws<InvalidOperationException>(() => worker.Run<int>(() => throw new InvalidOperationException("boom"))).Message);
        Assert.Equal(2, worker.Run(() => 1 + 1));
    }

    [Fact]
    public void Run_AfterDispose_Refused()
    {
        var worker = new LowPriorityWorker("test shadow");
        worker.Dispose();
        worker.Dispose();

        Assert.Throws<ObjectDisposedException>(() => worker.Run(() => 1));
    }
}
