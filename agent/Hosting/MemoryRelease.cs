using System.Threading.Channels;
using EdgeMl.Runtime.Serving;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.Hosting;

/// <summary>
/// Gives the memory that starting and loading models leave behind back to the device: once the agent has started,
/// and again after each activation, when no version has been activated for <see cref="Quiet"/>, one full compacting
/// collection that also returns the freed pages to the system.
/// </summary>
/// <remarks>
/// <para>Starting the host and reading, verifying and loading a package allocate tens of MB that are garbage once the
/// version serves. The collector would keep those pages committed until allocation asked for a full collection, which
/// an idle or lightly loaded device never does: with the classifier, the published agent idled at 109 MB, and at 96 MB
/// after this (docs/benchmarks.md).</para>
/// <para>Steady traffic activates nothing, so it never meets this full collection; a swap under load meets one pause,
/// <see cref="Quiet"/> after the swap, which the log line reports.</para>
/// </remarks>
internal sealed class MemoryRelease : BackgroundService
{
    /// <summary>How long after the last activation (or the start) the release waits: loads of several models settle first.</summary>
    internal static readonly TimeSpan Quiet = TimeSpan.FromSeconds(5);

    private readonly InferenceEngine _engine;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Action _collect;
    private long _lastActivation;
    private readonly Channel<bool> _activations = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    public MemoryRelease(InferenceEngine engine, TimeProvider time, ILogger<MemoryRelease> logger)
        : this(engine, time, logger, Collect)
    {
    }

    /// <param name="collect">The collection itself; tests count calls instead.</param>
    internal MemoryRelease(InferenceEngine engine, TimeProvider time, ILogger<MemoryRelease> logger, Action collect)
    {
        _engine = engine;
        _time = time;
        _logger = logger;
        _collect = collect;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _engine.Activated += OnActivated;
        try
        {
            OnActivated(this, null); // the start itself
            while (await _activations.Reader.WaitToReadAsync(stoppingToken))
            {
                // Quiet since the last activation: a model that loads while the clock runs restarts it.
                while (_activations.Reader.TryRead(out _))
                {
                    TimeSpan left;
                    while ((left = Quiet - _time.GetElapsedTime(Volatile.Read(ref _lastActivation))) > TimeSpan.Zero)
                    {
                        await Task.Delay(left, _time, stoppingToken);
                    }
                }

                Release();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            _engine.Activated -= OnActivated;
        }
    }

    private static void Collect() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);

    private void OnActivated(object? sender, ActivationResult? activation)
    {
        Volatile.Write(ref _lastActivation, _time.GetTimestamp());
        _activations.Writer.TryWrite(true);
    }

    private void Release()
    {
        var before = Environment.WorkingSet;
        var started = _time.GetTimestamp();
        _collect();
        var after = Environment.WorkingSet;
        Log.MemoryReleased(_logger, Megabytes(before - after), Megabytes(before), Megabytes(after), _time.GetElapsedTime(started).TotalMilliseconds);
    }

    private static double Megabytes(long bytes) => Math.Round(bytes / 1048576.0, 1);
}
