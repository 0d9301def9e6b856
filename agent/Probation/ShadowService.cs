using System.Collections.Concurrent;
using System.Threading.Channels;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Events;
using EdgeMl.Agent.Health;
using EdgeMl.Agent.Sync;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.Probation;

/// <summary>
/// Runs each model's shadow version beside the active one: installed and loaded (one intra-op thread) outside the
/// engine, fed a sampled copy of live requests through <see cref="ShadowTap"/>'s bounded hand-off, compared with
/// the active version's answer, and promoted through model sync (then on probation) once <c>promoteWhen</c> is met.
/// </summary>
internal sealed class ShadowService(
    ModelSync sync,
    DesiredStateSource desired,
    InferenceEngine engine,
    ModelStore store,
    ModelLoader loader,
    ModelSettingsFactory settings,
    ShadowTap tap,
    ProvingStatus status,
    AgentEventLog events,
    ProvingMetrics metrics,
    TimeProvider time,
    ILogger<ShadowService> logger) : BackgroundService
{
    /// <summary>How often the desired shadows are compared with what runs.</summary>
    public static readonly TimeSpan ReconcileInterval = TimeSpan.FromSeconds(5);

    private readonly Dictionary<string, ShadowRun> _runs = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Model, long Version), string> _unusable = [];
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        desired.Changed += OnDesiredChanged;
        // The shadow's runs (one intra-op thread, on the calling thread) go to a thread of the lowest priority, so
        // they take only the CPU that serving leaves.
        using var lowPriority = new LowPriorityWorker("edgeml shadow");
        var worker = Task.Run(() => CompareAsync(lowPriority, stoppingToken), CancellationToken.None);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await ReconcileAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    Log.ShadowLoadFailed(logger, "*", 0, $"{e.GetType().Name}: {e.Message}");
                }

                using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                await Task.WhenAny(Task.Delay(ReconcileInterval, time, wait.Token), _wake.Reader.WaitToReadAsync(wait.Token).AsTask()).ConfigureAwait(false);
                await wait.CancelAsync().ConfigureAwait(false);
                _wake.Reader.TryRead(out _);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            desired.Changed -= OnDesiredChanged;
            await worker.ConfigureAwait(false);
            foreach (var run in _runs.Values)
            {
                Retire(run);
            }
        }
    }

    /// <summary>Asks for a look at the desired shadows now.</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    private void OnDesiredChanged(object? sender, DesiredSnapshot snapshot) => Wake();

    private async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var models = desired.Current.State.Models;
        RetireUndesired(models);
        foreach (var (name, model) in models)
        {
            if (model.Shadow is { } shadow)
            {
                await ReconcileAsync(name, model, shadow, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Stops the shadows whose model is gone or whose desired shadow version changed.</summary>
    private void RetireUndesired(IReadOnlyDictionary<string, DesiredModel> models)
    {
        foreach (var (name, run) in _runs.ToArray())
        {
            if (!models.TryGetValue(name, out var model) || model.Shadow?.Version != run.Version)
            {
                Retire(run);
                _runs.Remove(name);
                if (model?.Shadow is null)
                {
                    status.RemoveShadow(name);
                }
            }
        }
    }

    private async Task ReconcileAsync(string name, DesiredModel model, ShadowSettings shadow, CancellationToken cancellationToken)
    {
        var active = engine.GetStatus(name)?.Version;
        if (active == shadow.Version || active is null)
        {
            if (_runs.Remove(name, out var done))
            {
                Retire(done);
                status.Set(done.State(done.Promoted ? $"v{shadow.Version} was promoted and now serves" : $"v{shadow.Version} serves"));
            }

            return;
        }

        if (store.GetLastRejection(name) is { } rejection && rejection.Version == shadow.Version)
        {
            if (_runs.Remove(name, out var refused))
            {
                Retire(refused);
            }

            status.Set(new ShadowState(name, shadow.Version, active.Value, 0, 0, 0, null, null, $"v{shadow.Version} was refused at {rejection.Stage}: {rejection.Reason}; it is not run as a shadow"));
            return;
        }

        if (_runs.TryGetValue(name, out var running))
        {
            running.Settings = shadow; // a new sample rate or rule applies at once; the figures go on
            return;
        }

        if (_unusable.TryGetValue((name, shadow.Version), out var why))
        {
            status.Set(new ShadowState(name, shadow.Version, active.Value, 0, 0, 0, null, null, why));
            return;
        }

        await StartAsync(name, model, shadow, active.Value, cancellationToken).ConfigureAwait(false);
    }

    private async Task StartAsync(string name, DesiredModel model, ShadowSettings shadow, long active, CancellationToken cancellationToken)
    {
        status.Set(new ShadowState(name, shadow.Version, active, 0, 0, 0, null, null, $"installing and loading v{shadow.Version}"));
        if (await sync.InstallAsync(name, shadow.Version, cancellationToken).ConfigureAwait(false) is { } problem)
        {
            // A registry that is down is tried again at the next look.
            status.Set(new ShadowState(name, shadow.Version, active, 0, 0, 0, null, null, $"v{shadow.Version} is not installed: {problem}"));
            return;
        }

        LoadedModel loaded;
        try
        {
            // One intra-op thread: the shadow must not take the cores the active version serves with.
            var runtime = settings.For(model with { Threads = 1 });
            loaded = await loader.LoadAsync(ModelPackage.Open(store.VersionFolder(name, shadow.Version)).CreateDefinition(runtime), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ModelLoadException or ModelManifestException or IOException)
        {
            var why = $"v{shadow.Version} does not load as a shadow: {(e is ModelLoadException l ? $"{l.Stage}: {l.Reason}" : e.Message)}";
            _unusable[(name, shadow.Version)] = why;
            status.Set(new ShadowState(name, shadow.Version, active, 0, 0, 0, null, null, why));
            Log.ShadowLoadFailed(logger, name, shadow.Version, why);
            return;
        }

        var run = new ShadowRun(name, loaded, shadow) { ActiveVersion = active };
        _runs[name] = run;
        tap.Set(run);
        status.Set(run.State($"v{shadow.Version} runs as a shadow of v{active}"));
    }

    private void Retire(ShadowRun run)
    {
        tap.Remove(run);
        run.Retire();
    }

    /// <summary>The one worker that runs shadow copies, off every caller's path.</summary>
    private async Task CompareAsync(LowPriorityWorker lowPriority, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var copy in tap.Copies.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                var run = copy.Run;
                if (!run.TryTakeBudget(time))
                {
                    metrics.ShadowDropped.Add(1, new KeyValuePair<string, object?>("model", run.Model), new KeyValuePair<string, object?>("reason", "budget"));
                    continue;
                }

                var started = time.GetTimestamp();
                var outputs = lowPriority.Run(() => run.Run(copy.Inputs));
                var elapsed = time.GetElapsedTime(started);
                run.Spend(elapsed);
                if (outputs is null)
                {
                    continue; // retired meanwhile
                }

                var agrees = outputs.Length > 0 && ShadowComparison.Agrees(copy.ActiveOutputs, outputs, run.Settings.Tolerance);
                run.ActiveVersion = copy.ActiveVersion;
                run.Record(agrees, copy.ActiveElapsed, elapsed);
                metrics.ShadowCompared.Add(1, new KeyValuePair<string, object?>("model", run.Model), new KeyValuePair<string, object?>("agreed", agrees));
                status.Set(run.State($"v{run.Version} runs as a shadow of v{copy.ActiveVersion}"));
                if (!run.Promoted && ShadowComparison.Promotion(run.Settings, run.Compared, run.Agreed) is { } why)
                {
                    run.Promoted = true;
                    await PromoteAsync(run, why, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task PromoteAsync(ShadowRun run, string why, CancellationToken cancellationToken)
    {
        var result = await sync.ActivateAsync(run.Model, run.Version, $"promoted from shadow: {why}", cancellationToken).ConfigureAwait(false);
        if (result.Succeeded)
        {
            metrics.ShadowPromotions.Add(1, new KeyValuePair<string, object?>("model", run.Model));
            events.Add(AgentEventKinds.ShadowPromoted, run.Model, run.Version, $"{run.Model} {why}; v{run.Version} promoted and on probation");
            Log.ShadowPromoted(logger, run.Model, run.Version, why);
            status.Set(run.State($"v{run.Version} was promoted ({why})"));
        }
        else
        {
            status.Set(run.State($"promotion of v{run.Version} failed: {result.Message}"));
        }

        Wake();
    }
}

/// <summary>One shadow version and its figures; <see cref="Run"/> and <see cref="Retire"/> never overlap.</summary>
internal sealed class ShadowRun(string model, LoadedModel loaded, ShadowSettings settings)
{
    private readonly Lock _gate = new();
    private readonly double[] _activeLatency = new double[VersionWindow.Capacity];
    private readonly double[] _shadowLatency = new double[VersionWindow.Capacity];
    private bool _retired;
    private long _compared;
    private long _agreed;
    private long _dropped;
    private long _budgetWindowStart;
    private TimeSpan _budgetSpent;

    public string Model { get; } = model;

    public long Version { get; } = loaded.Version;

    public ShadowSettings Settings { get; set; } = settings;

    public bool Promoted { get; set; }

    /// <summary>The version the shadow is compared with (the latest copy's).</summary>
    public long ActiveVersion { get; set; }

    public bool Retired => Volatile.Read(ref _retired);

    public long Compared => Interlocked.Read(ref _compared);

    public long Agreed => Interlocked.Read(ref _agreed);

    public void Dropped() => Interlocked.Increment(ref _dropped);

    /// <summary>Runs the shadow on a copy; null once it was retired.</summary>
    public InferenceTensor[]? Run(IReadOnlyList<InferenceTensor> inputs)
    {
        lock (_gate)
        {
            if (_retired)
            {
                return null;
            }

            try
            {
                return loaded.Run(inputs, []);
            }
            catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
            {
                return []; // a shadow that fails disagrees
            }
        }
    }

    public void Retire()
    {
        lock (_gate)
        {
            _retired = true;
            loaded.Dispose();
        }
    }

    /// <summary>Whether the shadow has CPU left in this second: its run time may be <see cref="ShadowSettings.CpuBudget"/> of it.</summary>
    public bool TryTakeBudget(TimeProvider time)
    {
        var now = time.GetTimestamp();
        if (time.GetElapsedTime(_budgetWindowStart, now) >= TimeSpan.FromSeconds(1))
        {
            (_budgetWindowStart, _budgetSpent) = (now, TimeSpan.Zero);
        }

        if (_budgetSpent.TotalSeconds < Settings.CpuBudget)
        {
            return true;
        }

        Dropped();
        return false;
    }

    public void Spend(TimeSpan elapsed) => _budgetSpent += elapsed;

    public void Record(bool agrees, TimeSpan active, TimeSpan shadow)
    {
        lock (_gate)
        {
            var slot = _compared % VersionWindow.Capacity;
            _activeLatency[slot] = active.TotalMilliseconds;
            _shadowLatency[slot] = shadow.TotalMilliseconds;
            _compared++;
            _agreed += agrees ? 1 : 0;
        }
    }

    public ShadowState State(string message)
    {
        lock (_gate)
        {
            var count = (int)Math.Min(VersionWindow.Capacity, _compared);
            double? P95(double[] values) => count == 0 ? null : VersionWindow.Percentile(values.AsSpan(0, count).ToArray(), 0.95);
            return new ShadowState(Model, Version, ActiveVersion, _compared, _agreed, Interlocked.Read(ref _dropped), P95(_activeLatency), P95(_shadowLatency), message);
        }
    }
}

/// <summary>
/// The request path's side of shadow evaluation: a sampled, copied request and answer handed to the shadow worker
/// through a bounded channel. A full channel drops the copy and counts it; the caller never waits.
/// </summary>
internal sealed class ShadowTap(ProvingMetrics metrics) : IPredictionObserver
{
    /// <summary>Copies waiting for the worker; beyond this the device is too busy for shadow work.</summary>
    public const int Capacity = 16;

    private readonly ConcurrentDictionary<string, ShadowRun> _runs = new(StringComparer.Ordinal);
    private readonly Channel<ShadowCopy> _copies = Channel.CreateBounded<ShadowCopy>(new BoundedChannelOptions(Capacity)
    {
        FullMode = BoundedChannelFullMode.Wait, SingleReader = true,
    });

    public ChannelReader<ShadowCopy> Copies => _copies.Reader;

    public void Set(ShadowRun run) => _runs[run.Model] = run;

    public void Remove(ShadowRun run) => _runs.TryRemove(new KeyValuePair<string, ShadowRun>(run.Model, run));

    public void Observe(in Prediction prediction)
    {
        if (_runs.IsEmpty || !_runs.TryGetValue(prediction.Model, out var run) || run.Retired || prediction.Result is not { IsSuccess: true } result)
        {
            return;
        }

        var rate = run.Settings.SampleRate;
        if (rate < 1 && Random.Shared.NextDouble() >= rate)
        {
            return;
        }

        // Copied: a front door may hand its buffers back to a pool once the caller has its answer.
        var copy = new ShadowCopy(run, result.Version, [.. prediction.Request.Inputs.Select(Copy)], [.. result.Outputs.Select(Copy)], prediction.Elapsed);
        if (!_copies.Writer.TryWrite(copy))
        {
            run.Dropped();
            metrics.ShadowDropped.Add(1, new KeyValuePair<string, object?>("model", run.Model), new KeyValuePair<string, object?>("reason", "full"));
        }
    }

    private static InferenceTensor Copy(InferenceTensor tensor) =>
        tensor.DataType == TensorDataType.Bytes
            ? InferenceTensor.FromElements(tensor.Name, [.. tensor.Shape], [.. tensor.Elements.Select(e => (ReadOnlyMemory<byte>)e.ToArray())])
            : InferenceTensor.FromBytes(tensor.Name, tensor.DataType, [.. tensor.Shape], tensor.Data.ToArray());
}

/// <summary>A request and the active version's answer, copied for the shadow.</summary>
internal sealed record ShadowCopy(ShadowRun Run, long ActiveVersion, IReadOnlyList<InferenceTensor> Inputs, IReadOnlyList<InferenceTensor> ActiveOutputs, TimeSpan ActiveElapsed);
