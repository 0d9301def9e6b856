using EdgeMl.Runtime.Sessions;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Runtime.Serving;

/// <summary>
/// A loaded version as held by its slot and by the requests running on it. The slot holds one reference;
/// each request takes one. When the slot lets go (a swap) and the last request finishes, the session and its
/// executor are disposed, so no request ever runs on a disposed session and no old session lingers.
/// </summary>
internal sealed class ModelLease(ModelSession session, IRequestExecutor executor, ILogger logger)
{
    private int _references = 1;

    public ModelSession Session { get; } = session;

    /// <summary>The definition as the operator gave it (the session may run an interim provider chain of it).</summary>
    public required ModelDefinition Definition { get; init; }

    public IRequestExecutor Executor { get; } = executor;

    public DateTimeOffset ActivatedAt { get; init; }

    /// <summary>Takes a reference unless the lease has already been retired.</summary>
    public bool TryAcquire()
    {
        var current = Volatile.Read(ref _references);
        while (current > 0)
        {
            var seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Executor.Dispose();
            Session.Dispose();
            Log.Retired(logger, Session.Definition.Name, Session.Definition.Version);
        }
    }
}

/// <summary>The served version of one model name, swapped atomically.</summary>
internal sealed class ModelSlot(string name)
{
    private ModelLease? _current;

    public string Name { get; } = name;

    /// <summary>One activation at a time per model; requests never wait on it.</summary>
    public SemaphoreSlim Activation { get; } = new(1, 1);

    public ModelLease? Current => Volatile.Read(ref _current);

    public ModelDefinition? Previous { get; set; }

    public ModelFailure? LastFailure { get; set; }

    public long? Loading { get; set; }

    /// <summary>The provider being built in the background, and how to stop it.</summary>
    public (string Provider, CancellationTokenSource Cancel)? Build { get; set; }

    /// <summary>The most recent background build, finished or not; tests await it.</summary>
    public Task LastBuild { get; set; } = Task.CompletedTask;

    public void CancelBuild()
    {
        if (Build is { } build)
        {
            build.Cancel.Cancel();
            Build = null;
        }
    }

    /// <summary>The current lease with a reference taken, or null when nothing is served.</summary>
    public ModelLease? Acquire()
    {
        while (true)
        {
            var lease = Volatile.Read(ref _current);
            if (lease is null || lease.TryAcquire())
            {
                return lease;
            }

            // Retired between the read and the acquire: a newer lease is already in place.
        }
    }

    /// <summary>Puts <paramref name="next"/> in place and lets go of the old lease; requests on it finish first.</summary>
    public ModelLease? Swap(ModelLease? next)
    {
        var old = Interlocked.Exchange(ref _current, next);
        old?.Release();
        return old;
    }
}
