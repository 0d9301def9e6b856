using System.Runtime.InteropServices;

namespace EdgeMl.Runtime.Sessions;

/// <summary>
/// One dedicated thread for work that must yield the CPU to serving (a shadow version's runs). On Linux its nice
/// value is 19, so beside busy normal threads the scheduler gives it about 1/70 of their share; elsewhere it runs at
/// the lowest managed priority. An ONNX Runtime session with one intra-op thread runs on the calling thread, so its
/// runs take the worker's priority.
/// </summary>
/// <remarks>
/// Linux threads inherit their creator's nice value, and .NET may create a thread-pool thread on whichever thread
/// queues work. So the worker never queues any: <see cref="Run{T}"/> hands it one job and blocks until it is done,
/// with no task, continuation or timer in between, and the caller does everything else at its own priority.
/// </remarks>
public sealed partial class LowPriorityWorker : IDisposable
{
    /// <summary>The nice value of the worker: the lowest priority Linux schedules.</summary>
    public const int Nice = 19;

    private readonly Lock _caller = new();
    private readonly SemaphoreSlim _job = new(0);
    private readonly ManualResetEventSlim _done = new(false);
    private readonly Thread _thread;
    private Func<object?>? _work;
    private object? _result;
    private Exception? _error;
    private volatile bool _disposed;

    public LowPriorityWorker(string name)
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Whether the operating system took the lower priority (false until the thread has started, and off Linux).</summary>
    public bool Lowered { get; private set; }

    /// <summary>Runs <paramref name="work"/> on the worker and returns its result (or throws its exception); one caller at a time.</summary>
    public T Run<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        lock (_caller)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            (_work, _result, _error) = (() => work(), null, null);
            _done.Reset();
            _job.Release();
            _done.Wait();
            return _error is { } error ? throw new AggregateException(error).InnerException! : (T)_result!;
        }
    }

    /// <summary>The calling thread's nice value on Linux, from /proc; null elsewhere.</summary>
    public static int? CurrentNice()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        // Field 19 of /proc/thread-self/stat, counted after the command name's closing parenthesis.
        var stat = File.ReadAllText("/proc/thread-self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[16], System.Globalization.CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        lock (_caller)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _job.Release();
        }

        _thread.Join();
        _job.Dispose();
        _done.Dispose();
    }

    private void Loop()
    {
        Lowered = LowerCurrentThread();
        while (true)
        {
            _job.Wait();
            if (_disposed)
            {
                return;
            }

            try
            {
                _result = _work!();
            }
            catch (Exception e)
            {
                _error = e;
            }

            _done.Set();
        }
    }

    private static bool LowerCurrentThread()
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                // PRIO_PROCESS with a thread id sets that thread alone (Linux schedules threads as tasks).
                return SetPriority(0, GetThreadId(), Nice) == 0;
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                // A libc without gettid: the managed priority below is all there is.
            }
        }

        Thread.CurrentThread.Priority = ThreadPriority.Lowest;
        return false;
    }

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, int who, int priority);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetThreadId();
}
