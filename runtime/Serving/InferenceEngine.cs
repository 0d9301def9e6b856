using System.Collections.Concurrent;
using System.Diagnostics;
using EdgeMl.Runtime.Diagnostics;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeMl.Runtime.Serving;

/// <summary>
/// Serves models by name. Each name has a slot holding the active version; activating a version loads,
/// warms and checks it beside the running one, then swaps atomically. Requests never wait for an activation
/// and never fail because of one.
/// </summary>
public sealed class InferenceEngine : IDisposable
{
    private readonly ConcurrentDictionary<string, ModelSlot> _slots = new(StringComparer.Ordinal);
    private readonly ModelLoader _loader;
    private readonly RuntimeMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private volatile bool _disposed;

    public InferenceEngine(ModelLoader loader, RuntimeMetrics metrics, TimeProvider time, ILogger<InferenceEngine>? logger = null)
    {
        _loader = loader;
        _metrics = metrics;
        _time = time;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Raised after a version is swapped in or refused.</summary>
    public event EventHandler<ActivationResult>? Activated;

    /// <summary>Loads, warms up and checks <paramref name="definition"/>, then serves it in place of the running version.</summary>
    /// <returns>Success, or the stage and reason it was refused; the running version keeps serving either way.</returns>
    public async Task<ActivationResult> ActivateAsync(ModelDefinition definition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var slot = _slots.GetOrAdd(definition.Name, static name => new ModelSlot(name));
        await slot.Activation.WaitAsync(cancellationToken);
        try
        {
            slot.CancelBuild();
            slot.Loading = definition.Version;
            // Only a TensorRT that can start here has an engine to build: one missing from the build, without its
            // libraries or without a device is skipped by the chain at once, with its reason, instead of "building" forever.
            var background = definition.Providers.BuildsInBackground && _loader.WhyNot(definition.Providers.Providers[0]) is null;
            LoadedModel loaded;
            try
            {
                loaded = await _loader.LoadAsync(background ? definition.WithProviders(definition.Providers.Rest()) : definition, cancellationToken);
            }
            catch (ModelLoadException e)
            {
                return Refuse(slot, definition, e.Stage, e.Reason);
            }

            if (_disposed)
            {
                // Loaded while the agent stopped: nothing would ever unload it.
                loaded.Dispose();
                throw new ObjectDisposedException(nameof(InferenceEngine));
            }

            if (!background)
            {
                return Swap(slot, loaded, definition);
            }

            var provider = definition.Providers.Providers[0].Name.ToLowerInvariant();
            loaded.Session.Providers = loaded.Providers with
            {
                Requested = definition.Providers.Providers.Select(p => p.Name.ToLowerInvariant()).ToArray(),
                Skipped = [new ProviderSkip(provider, ProviderState.Building, "its engine is building in the background"), .. loaded.Providers.Skipped],
            };
            var result = Swap(slot, loaded, definition);
            StartBuild(slot, definition, provider);
            return result;
        }
        finally
        {
            slot.Loading = null;
            slot.Activation.Release();
        }
    }

    /// <summary>Serves an already loaded and checked model (one built in the background, say) in place of the running version.</summary>
    public async Task<ActivationResult> ActivateAsync(LoadedModel loaded, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        var slot = _slots.GetOrAdd(loaded.Name, static name => new ModelSlot(name));
        await slot.Activation.WaitAsync(cancellationToken);
        try
        {
            slot.CancelBuild();
            return Swap(slot, loaded, loaded.Session.Definition);
        }
        finally
        {
            slot.Activation.Release();
        }
    }

    /// <summary>Activates the version that served before the current one.</summary>
    public Task<ActivationResult> RollbackAsync(string model, CancellationToken cancellationToken = default) =>
        _slots.TryGetValue(model, out var slot) && slot.Previous is { } previous
            ? ActivateAsync(previous, cancellationToken)
            : throw new InvalidOperationException($"model '{model}' has no previous version to roll back to");

    /// <summary>Runs one prediction on the active version.</summary>
    /// <param name="version">The version the caller asks for; null for whichever is active.</param>
    public ValueTask<InferenceResult> InferAsync(string model, InferenceRequest request, long? version = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = _time.GetTimestamp();
        if (!_slots.TryGetValue(model, out var slot))
        {
            // A name from a request is not a label: made-up names would grow every scrape without bound.
            _metrics.Requests.Add(1, new KeyValuePair<string, object?>("model", RuntimeMetrics.UnknownModel));
            _metrics.Failed(RuntimeMetrics.UnknownModel, InferenceErrorKind.ModelNotFound);
            return ValueTask.FromResult(InferenceResult.Failure(model, 0, new InferenceError(InferenceErrorKind.ModelNotFound, $"model '{model}' is not served")));
        }

        _metrics.Requests.Add(1, new KeyValuePair<string, object?>("model", model));
        return RunAsync(slot, model, request, version, started, cancellationToken);
    }

    /// <summary>One prediction on a served model: a lease on its active version, the version and tensor checks, the run.</summary>
    private async ValueTask<InferenceResult> RunAsync(ModelSlot slot, string model, InferenceRequest request, long? version, long started, CancellationToken cancellationToken)
    {
        using var activity = EdgeMlTracing.Source.StartActivity("engine.infer");
        activity?.SetTag("edgeml.model", model);
        var lease = slot.Acquire();
        if (lease is null)
        {
            return Fail(model, 0, InferenceErrorKind.NotReady, slot.LastFailure is { } f
                ? $"model '{model}' has no ready version: v{f.Version} failed at {f.Stage}: {f.Reason}"
                : $"model '{model}' has no ready version yet");
        }

        try
        {
            var session = lease.Session;
            var active = session.Definition.Version;
            activity?.SetTag("edgeml.model.version", active);
            if (Refusal(model, active, session, request, version) is { } refused)
            {
                return refused;
            }

            var (outputs, error) = await lease.Executor.ExecuteAsync(request, cancellationToken);
            if (error is not null)
            {
                if (error.Kind == InferenceErrorKind.RuntimeFailure)
                {
                    Log.RunFailed(_logger, new InvalidOperationException(error.Message), model, active);
                }

                activity?.SetStatus(ActivityStatusCode.Error, error.Kind.ToString());
                return Fail(model, active, error.Kind, error.Message);
            }

            _metrics.Duration.Record(_time.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("model", model));
            return InferenceResult.Success(model, active, outputs!);
        }
        finally
        {
            lease.Release();
        }
    }

    /// <summary>A request the active version cannot take: another version asked for, or tensors its signature refuses.</summary>
    private InferenceResult? Refusal(string model, long active, ModelSession session, InferenceRequest request, long? version)
    {
        if (version is { } wanted && wanted != active)
        {
            return Fail(model, active, InferenceErrorKind.ModelNotFound, $"model '{model}' version {wanted} is not served; the active version is {active}");
        }

        var invalid = TensorValidator.Validate(request, session.Signature, session.Definition.Serving.MaxRequestBytes)
            ?? TensorValidator.ValidateOutputs(request.Outputs, session.Signature);
        return invalid is null ? null : Fail(model, active, invalid.Kind, invalid.Message);
    }

    /// <summary>Stops serving a model; requests already running on it finish first.</summary>
    public bool Unload(string model)
    {
        if (!_slots.TryRemove(model, out var slot))
        {
            return false;
        }

        slot.CancelBuild();
        slot.Swap(null);
        Log.Unloaded(_logger, model);
        return true;
    }

    public ModelStatus? GetStatus(string model) => _slots.TryGetValue(model, out var slot) ? Status(slot) : null;

    /// <summary>Whether the engine holds <paramref name="model"/> in any state, without building its status.</summary>
    public bool Holds(string model) => _slots.ContainsKey(model);

    /// <summary>
    /// The active version's input and output names, empty when none is active: a front door reads a request's names as
    /// these strings rather than making new ones for every request.
    /// </summary>
    public IReadOnlyList<string> TensorNames(string model) =>
        _slots.TryGetValue(model, out var slot) && slot.Current is { } lease ? lease.Session.TensorNames : [];

    /// <summary>The provider the active version runs on, without building a status (the request path asks this).</summary>
    public string? EffectiveProvider(string model) => _slots.TryGetValue(model, out var slot) ? slot.Current?.Session.Providers.Effective : null;

    public IReadOnlyList<ModelStatus> GetStatuses() => _slots.Values.Select(Status).OrderBy(s => s.Name, StringComparer.Ordinal).ToArray();

    /// <summary>The model's latest background engine build; tests wait for it.</summary>
    internal Task BackgroundBuildOf(string model) => _slots.TryGetValue(model, out var slot) ? slot.LastBuild : Task.CompletedTask;

    /// <summary>The executor of the active version; tests use it to hold the model busy.</summary>
    internal IRequestExecutor? ExecutorOf(string model) => _slots.TryGetValue(model, out var slot) ? slot.Current?.Executor : null;

    public void Dispose()
    {
        _disposed = true;
        foreach (var model in _slots.Keys)
        {
            Unload(model);
        }
    }

    /// <summary>
    /// Builds the first provider's engine beside the serving version and swaps it in when it is ready; a new
    /// activation of the model cancels it, and a failed build leaves the interim version serving, with the reason.
    /// </summary>
    private void StartBuild(ModelSlot slot, ModelDefinition definition, string provider)
    {
        var cancel = new CancellationTokenSource();
        slot.Build = (provider, cancel);
        var interim = slot.Current!.Session;
        Log.BuildingInBackground(_logger, definition.Name, definition.Version, interim.Providers.Effective, provider);
        slot.LastBuild = Task.Run(async () =>
        {
            try
            {
                var failure = await BuildAsync(slot, definition, provider, interim, cancel.Token);
                if (failure is null)
                {
                    return;
                }

                await slot.Activation.WaitAsync(CancellationToken.None);
                try
                {
                    if (!cancel.IsCancellationRequested)
                    {
                        // The interim version keeps serving; its report now says why it is not on the first provider.
                        interim.Providers = interim.Providers with
                        {
                            Skipped = [failure, .. interim.Providers.Skipped.Where(s => s.Provider != provider)],
                        };
                        slot.Build = null;
                        Log.BuildFailed(_logger, definition.Name, definition.Version, interim.Providers.Effective, provider, failure.Reason);
                    }
                }
                finally
                {
                    slot.Activation.Release();
                }
            }
            finally
            {
                cancel.Dispose();
            }
        });
    }

    /// <returns>Null when the built version was swapped in or the build was cancelled; otherwise what stopped the provider.</returns>
    private async Task<ProviderSkip?> BuildAsync(ModelSlot slot, ModelDefinition definition, string provider, ModelSession interim, CancellationToken cancellationToken)
    {
        LoadedModel loaded;
        try
        {
            loaded = await _loader.LoadAsync(definition, cancellationToken);
        }
        catch (ModelLoadException e)
        {
            return new ProviderSkip(provider, ProviderState.InitFailed, $"its engine failed to build: {e.Message}");
        }
        catch (OperationCanceledException)
        {
            return null;
        }

        if (loaded.Providers.Effective != provider)
        {
            // The chain's own verdict (a session creation that failed, libraries gone) says more than "it fell back".
            var skip = loaded.Providers.Skipped.FirstOrDefault(s => s.Provider == provider);
            loaded.Dispose();
            return skip is { State: ProviderState.InitFailed }
                ? skip with { Reason = $"its engine failed to build: {skip.Reason}" }
                : skip ?? new ProviderSkip(provider, ProviderState.InitFailed, $"its engine failed to build: it fell back to {loaded.Providers.Effective}");
        }

        await slot.Activation.WaitAsync(CancellationToken.None);
        try
        {
            if (cancellationToken.IsCancellationRequested || !ReferenceEquals(slot.Current?.Session, interim))
            {
                loaded.Dispose();
            }
            else
            {
                slot.Build = null;
                Swap(slot, loaded, definition);
            }

            return null;
        }
        finally
        {
            slot.Activation.Release();
        }
    }

    private ActivationResult Swap(ModelSlot slot, LoadedModel loaded, ModelDefinition definition)
    {
        using var trace = EdgeMlTracing.Source.StartActivity("model.activate");
        var session = loaded.Session;
        var batching = session.Definition.Serving.Batching;
        IRequestExecutor executor = !session.Signature.IsBatchable ? new DirectExecutor(session, _metrics)
            : batching.Auto ? new AutoBatchingExecutor(session, _metrics, _time, choice => Log.BatchingChosen(_logger, slot.Name, loaded.Version, choice.Mode == BatchingMode.Batched ? "batched" : "unbatched", choice.Reason))
            : batching.Enabled ? new BatchingExecutor(session, _metrics, _time)
            : new DirectExecutor(session, _metrics);
        var lease = new ModelLease(session, executor, _logger) { ActivatedAt = _time.GetUtcNow(), Definition = definition };
        var previous = slot.Current?.Definition;
        slot.Swap(lease);
        slot.Previous = previous ?? slot.Previous;
        slot.LastFailure = null;
        _metrics.Swaps.Add(1, new KeyValuePair<string, object?>("model", slot.Name), new KeyValuePair<string, object?>("outcome", "activated"));
        Log.Swapped(_logger, slot.Name, loaded.Version, previous is null ? "nothing" : $"v{previous.Version}");
        var result = new ActivationResult(slot.Name, loaded.Version, previous?.Version, loaded.Providers, null);
        Activated?.Invoke(this, result);
        return result;
    }

    private ActivationResult Refuse(ModelSlot slot, ModelDefinition definition, ModelLoadStage stage, string reason)
    {
        var failure = new ModelFailure(definition.Version, stage, reason, _time.GetUtcNow());
        slot.LastFailure = failure;
        _metrics.Swaps.Add(1, new KeyValuePair<string, object?>("model", slot.Name), new KeyValuePair<string, object?>("outcome", "refused"));
        Log.ActivationFailed(_logger, definition.Name, definition.Version, stage.ToString(), reason);
        var result = new ActivationResult(slot.Name, definition.Version, slot.Current?.Session.Definition.Version, null, failure);
        Activated?.Invoke(this, result);
        return result;
    }

    private InferenceResult Fail(string model, long version, InferenceErrorKind kind, string message)
    {
        _metrics.Failed(model, kind);
        return InferenceResult.Failure(model, version, new InferenceError(kind, message));
    }

    private static ModelStatus Status(ModelSlot slot)
    {
        var lease = slot.Current;
        var session = lease?.Session;
        var state = session is not null ? ModelState.Ready : slot.Loading is not null ? ModelState.Loading : ModelState.Failed;
        return new ModelStatus(
            slot.Name, state, session?.Definition.Version, session?.Signature, session?.Providers, lease?.ActivatedAt, slot.Loading, slot.LastFailure)
        {
            Building = slot.Build?.Provider,
            States = session?.Definition.States ?? [],
            Batching = (lease?.Executor as AutoBatchingExecutor)?.Choice,
        };
    }
}
