using System.Diagnostics;
using EdgeMl.Runtime.Diagnostics;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Tensors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Runtime.Sessions;

/// <summary>Creates ONNX Runtime sessions; a seam so tests can stand in for a slow TensorRT engine build.</summary>
internal interface ISessionFactory
{
    InferenceSession Create(string modelPath, SessionOptions options, ProviderReport providers);
}

internal sealed class OnnxSessionFactory : ISessionFactory
{
    public static OnnxSessionFactory Instance { get; } = new();

    public InferenceSession Create(string modelPath, SessionOptions options, ProviderReport providers) => new(modelPath, options);
}

/// <summary>
/// Makes a model version ready to serve: session with its provider chain, signature check, warm-up and golden
/// check. A version that fails any stage is disposed and never served.
/// </summary>
/// <remarks>Disposing the loader stops the loads in flight and waits for them (<see cref="RunningLoads"/>).</remarks>
public sealed class ModelLoader : IDisposable, IAsyncDisposable
{
    private readonly RunningLoads _running;
    private readonly ILogger _logger;
    private readonly ProviderChain _providers;
    private readonly ISessionFactory _sessions;
    private readonly IGpuInfo _gpu;

    /// <summary>For a one-shot tool (the CLI, a test) with no host: no logging.</summary>
    public ModelLoader()
        : this(NullLogger<ModelLoader>.Instance)
    {
    }

    public ModelLoader(ILogger<ModelLoader> logger)
        : this(ProviderChain.ForThisBuild(), OnnxSessionFactory.Instance, logger, NativeGpuInfo.Instance)
    {
    }

    internal ModelLoader(ProviderChain providers, ISessionFactory sessions)
        : this(providers, sessions, NullLogger<ModelLoader>.Instance, NativeGpuInfo.Instance)
    {
    }

    internal ModelLoader(ProviderChain providers, ISessionFactory sessions, ILogger<ModelLoader> logger, IGpuInfo gpu)
    {
        _providers = providers;
        _sessions = sessions;
        _gpu = gpu;
        _logger = logger;
        _running = new RunningLoads(logger);
    }

    /// <summary>Where the profiles that report node placement are written and deleted; the temporary folder.</summary>
    internal string ProfileFolder { get; init; } = Path.GetTempPath();

    /// <summary>Null when the provider can start here: in this build, its libraries load and its device is visible; otherwise why not.</summary>
    internal ProviderSkip? WhyNot(ExecutionProviderOptions provider) => _providers.WhyNot(provider);

    /// <summary>Loads on a worker thread: session creation and warm-up block for as long as the model needs.</summary>
    /// <exception cref="ModelLoadException">A stage failed; the exception names it.</exception>
    /// <exception cref="OperationCanceledException">The caller cancelled, or the loader is being disposed.</exception>
    public Task<LoadedModel> LoadAsync(ModelDefinition definition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return _running.Start(token => Load(definition, token), cancellationToken);
    }

    /// <summary>Stops the loads in flight and waits for them, up to <see cref="RunningLoads.StopWait"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().Wait();

    /// <inheritdoc cref="Dispose"/>
    public async ValueTask DisposeAsync()
    {
        await _running.StopAsync().ConfigureAwait(false);
        _running.Dispose();
    }

    private LoadedModel Load(ModelDefinition definition, CancellationToken cancellationToken)
    {
        Log.Loading(_logger, definition.Name, definition.Version, definition.ModelPath);
        using var trace = EdgeMlTracing.Source.StartActivity("model.load");
        trace?.SetTag("edgeml.model", definition.Name);
        trace?.SetTag("edgeml.model.version", definition.Version);
        var started = Stopwatch.GetTimestamp();
        if (!File.Exists(definition.ModelPath))
        {
            throw new ModelLoadException(ModelLoadStage.Session, $"model file {definition.ModelPath} does not exist");
        }

        var cache = OptimizedModelCache.For(definition);
        var profile = ProfilePrefix();
        try
        {
            return Load(definition, cache, profile, started, cancellationToken);
        }
        finally
        {
            DeleteProfiles(profile);
        }
    }

    private LoadedModel Load(ModelDefinition definition, OptimizedModelCache? cache, string profile, long started, CancellationToken cancellationToken)
    {
        ModelSession model;
        try
        {
            var (session, providers) = CreateSession(definition, cache, profile);
            model = new ModelSession(definition, session, ReadSignature(definition, session), providers);
        }
        catch
        {
            cache?.Abandon();
            throw;
        }

        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            var warmUpStarted = Stopwatch.GetTimestamp();
            TimeSpan warmUp;
            using (cancellationToken.Register(static m => ((ModelSession)m!).Terminate(), model))
            {
                using (EdgeMlTracing.Source.StartActivity("model.warmup"))
                {
                    WarmUp(model, cancellationToken);
                }

                warmUp = Stopwatch.GetElapsedTime(warmUpStarted);
                using (EdgeMlTracing.Source.StartActivity("model.golden"))
                {
                    CheckGolden(model, cancellationToken);
                }
            }

            // A cancellation that came after the last run still terminated the session's runs: it is not served.
            cancellationToken.ThrowIfCancellationRequested();

            cache?.Commit(_logger);
            if (model.Providers.IsDegraded)
            {
                Log.Degraded(_logger, definition.Name, definition.Version, model.Providers.DegradedReason!);
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            Log.Loaded(_logger, definition.Name, definition.Version, model.Providers.Effective, elapsed.TotalMilliseconds, warmUp.TotalMilliseconds);
            return new LoadedModel(model, elapsed, warmUp);
        }
        catch
        {
            model.Dispose();
            cache?.Abandon();
            throw;
        }
    }

    private (InferenceSession Session, ProviderReport Report) CreateSession(ModelDefinition definition, OptimizedModelCache? cache, string profile)
    {
        var failed = new Dictionary<string, string>(StringComparer.Ordinal);
        var chain = TensorRtCache.Resolve(definition.Providers, definition.ModelPath, _gpu);
        while (true)
        {
            using var options = SessionOptionsFor(definition, cache, profile);
            ProviderReport report;
            try
            {
                report = _providers.Apply(options, chain, failed);
            }
            catch (ProviderUnavailableException e)
            {
                throw new ModelLoadException(ModelLoadStage.Providers, e.Message, e);
            }

            try
            {
                var path = cache?.ExistingPath ?? definition.ModelPath;
                return (_sessions.Create(path, options, report), report);
            }
            catch (OnnxRuntimeException e) when (report.Effective != ProviderNames.Cpu && definition.Providers.Policy == ProviderPolicy.Prefer)
            {
                // A provider present in the build can still fail on this model or device (a TensorRT engine
                // that does not build, a CUDA driver mismatch): fall back along the chain, and say so.
                Log.ProviderSessionFailed(_logger, e, report.Effective, definition.Name, definition.Version);
                failed[report.Effective] = e.Message;
            }
            catch (OnnxRuntimeException e) when (definition.Providers.Policy == ProviderPolicy.Strict && report.Effective != ProviderNames.Cpu)
            {
                throw new ModelLoadException(ModelLoadStage.Providers, StrictRefusal(definition, chain, report.Effective, e), e);
            }
            catch (OnnxRuntimeException e)
            {
                throw new ModelLoadException(ModelLoadStage.Session, e.Message, e);
            }
        }
    }

    /// <summary>
    /// Why a strict session was refused. ONNX Runtime only says that nodes would fall to the CPU, not which; so the
    /// same model is loaded once more the way prefer would (first provider, then the CPU), run once on zeros, and its
    /// profile names the nodes the CPU ran. Only on this refusal path: it costs a second session.
    /// </summary>
    private string StrictRefusal(ModelDefinition definition, ProviderChainOptions chain, string provider, OnnxRuntimeException refusal)
    {
        var probe = new ModelDefinition
        {
            Name = definition.Name,
            Version = definition.Version,
            ModelPath = definition.ModelPath,
            Session = new ModelSessionOptions { IntraOpThreads = definition.Session.IntraOpThreads, Optimization = definition.Session.Optimization },
            Providers = new ProviderChainOptions
            {
                ServeWhileBuilding = false,
                Providers = [chain.Providers[0], new ExecutionProviderOptions { Name = ProviderNames.Cpu }],
            },
            WarmUp = definition.WarmUp,
        };
        var profile = ProfilePrefix();
        try
        {
            using var options = SessionOptionsFor(probe, cache: null, profile);
            EnableProfiling(options, profile);
            var report = _providers.Apply(options, probe.Providers);
            var session = _sessions.Create(probe.ModelPath, options, report);
            using var model = new ModelSession(probe, session, ReadSignature(probe, session), report);
            model.Run(probe.WarmUp.Inputs.Count > 0 ? probe.WarmUp.Inputs : WarmUpInputs.Zeros(model.Signature, probe.WarmUp.Shapes), []);
            if (ReadPlacement(model)?.GetValueOrDefault(ProviderNames.Cpu) is { Count: > 0 } onCpu)
            {
                const int Named = 20;
                var names = string.Join(", ", onCpu.Take(Named)) + (onCpu.Count > Named ? $" and {onCpu.Count - Named} more" : "");
                return $"policy strict: {onCpu.Count} {(onCpu.Count == 1 ? "node" : "nodes")} would fall to the CPU instead of running on {provider}: {names}";
            }
        }
        catch (Exception e) when (e is OnnxRuntimeException or ModelLoadException or ProviderUnavailableException or IOException)
        {
            Log.ProfileUnreadable(_logger, e, definition.Name, definition.Version);
        }
        finally
        {
            DeleteProfiles(profile);
        }

        return $"policy strict: {provider} could not create the session: {refusal.Message}";
    }

    private static SessionOptions SessionOptionsFor(ModelDefinition definition, OptimizedModelCache? cache, string profile)
    {
        var s = definition.Session;
        var options = new SessionOptions
        {
            IntraOpNumThreads = s.IntraOpThreads,
            InterOpNumThreads = s.InterOpThreads,
            ExecutionMode = s.ParallelExecution ? ExecutionMode.ORT_PARALLEL : ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = s.Optimization switch
            {
                OptimizationLevel.Disabled => GraphOptimizationLevel.ORT_DISABLE_ALL,
                OptimizationLevel.Basic => GraphOptimizationLevel.ORT_ENABLE_BASIC,
                OptimizationLevel.Extended => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                _ => GraphOptimizationLevel.ORT_ENABLE_ALL,
            },
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
            LogId = $"{definition.Name}-v{definition.Version}",
        };
        cache?.Configure(options);
        if (s.ReportNodePlacement && definition.WarmUp.Runs > 0)
        {
            EnableProfiling(options, profile);
        }

        return options;
    }

    /// <summary>Where one load's profiles go: <see cref="ProfileFolder"/>, under a name no other load uses.</summary>
    private string ProfilePrefix() => Path.Combine(ProfileFolder, $"edgeml-profile-{Guid.NewGuid():N}");

    private static void EnableProfiling(SessionOptions options, string profile)
    {
        // The prefix first: profiling switched on starts a profile under the prefix of that moment (the working folder's
        // onnxruntime_profile_ by default).
        options.ProfileOutputPathPrefix = profile;
        options.EnableProfiling = true;
    }

    /// <summary>
    /// The profiles a load left: a session that failed to start or was refused writes its profile without anyone
    /// reading it, and a device would collect one file per refused load.
    /// </summary>
    private static void DeleteProfiles(string profile)
    {
        try
        {
            foreach (var file in Directory.EnumerateFiles(Path.GetDirectoryName(profile)!, Path.GetFileName(profile) + "*"))
            {
                File.Delete(file);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the temporary folder is the system's to clean as well.
        }
    }

    private static ModelSignature ReadSignature(ModelDefinition definition, InferenceSession session)
    {
        var inputs = Specs(session.InputNames, session.InputMetadata, "input");
        var outputs = Specs(session.OutputNames, session.OutputMetadata, "output");
        var signature = new ModelSignature(inputs, outputs);
        if (definition.DeclaredSignature is { } declared && Difference(declared, signature) is { } difference)
        {
            session.Dispose();
            throw new ModelLoadException(ModelLoadStage.Signature, difference);
        }

        return signature;

        TensorSpec[] Specs(IReadOnlyList<string> names, IReadOnlyDictionary<string, NodeMetadata> metadata, string kind) =>
            names.Select(name =>
            {
                var meta = metadata[name];
                if (!meta.IsTensor || !TensorDataTypes.TryFromOnnx(meta.ElementDataType, out var type))
                {
                    session.Dispose();
                    throw new ModelLoadException(ModelLoadStage.Signature, $"{kind} '{name}' is a {meta.OnnxValueType} of {meta.ElementDataType}; only tensors of protocol datatypes are served");
                }

                return new TensorSpec(name, type, meta.Dimensions.Select(d => (long)d).ToArray());
            }).ToArray();
    }

    private static string? Difference(ModelSignature declared, ModelSignature actual)
    {
        foreach (var (kind, want, got) in new[] { ("input", declared.Inputs, actual.Inputs), ("output", declared.Outputs, actual.Outputs) })
        {
            foreach (var spec in want)
            {
                var match = got.FirstOrDefault(g => g.Name == spec.Name);
                if (match is null)
                {
                    return $"the package declares {kind} '{spec.Name}', which the model does not have (it has {string.Join(", ", got.Select(g => g.Name))})";
                }

                if (match.DataType != spec.DataType || !match.Shape.SequenceEqual(spec.Shape))
                {
                    return $"the package declares {kind} {spec}; the model has {match}";
                }
            }
        }

        return null;
    }

    private void WarmUp(ModelSession model, CancellationToken cancellationToken)
    {
        var warmUp = model.Definition.WarmUp;
        var inputs = warmUp.Inputs.Count > 0 ? warmUp.Inputs : WarmUpInputs.Zeros(model.Signature, warmUp.Shapes);
        for (var run = 0; run < warmUp.Runs; run++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var error = TensorValidator.Validate(new InferenceRequest(inputs), model.Signature, long.MaxValue);
            if (error is not null)
            {
                throw new ModelLoadException(ModelLoadStage.WarmUp, $"warm-up inputs do not fit the model: {error.Message}");
            }

            try
            {
                model.Run(inputs, []);
            }
            catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
            {
                // Terminated by the stop, not refused: the version is loaded again on the next start.
                throw new OperationCanceledException(cancellationToken);
            }
            catch (OnnxRuntimeException e) when (warmUp.Inputs.Count == 0)
            {
                // Zeros are not a valid input for every model (a sample rate, a mode, a length): say what was run.
                throw new ModelLoadException(ModelLoadStage.WarmUp,
                    $"warm-up run {run + 1} on zero tensors failed (the package carries no warm-up inputs, so zeros shaped from the signature were used): {e.Message}. Pack real inputs with 'edgeml model pack --sample FILE' (an Open Inference Protocol request), or turn warm-up off with --warmup-runs 0", e);
            }
            catch (OnnxRuntimeException e)
            {
                throw new ModelLoadException(ModelLoadStage.WarmUp, $"warm-up run {run + 1} failed: {e.Message}", e);
            }

            if (run == 0 && model.Definition.Session.ReportNodePlacement)
            {
                model.Providers = model.Providers with { NodesByProvider = ReadProfile(model) };
            }
        }
    }

    private Dictionary<string, int> ReadProfile(ModelSession model) =>
        ReadPlacement(model) is { } nodes ? NodePlacement.Counts(nodes) : [];

    /// <summary>The nodes each provider ran in the profiled first run; null when the profile cannot be read.</summary>
    private Dictionary<string, List<string>>? ReadPlacement(ModelSession model)
    {
        string? path = null;
        try
        {
            path = model.OnnxSession.EndProfiling();
            using var stream = File.OpenRead(path);
            return NodePlacement.FromProfile(stream);
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or OnnxRuntimeException or InvalidOperationException)
        {
            // Placement is a report, not a reason to refuse a model that runs.
            Log.ProfileUnreadable(_logger, e, model.Definition.Name, model.Definition.Version);
            return null;
        }
        finally
        {
            if (path is not null)
            {
                File.Delete(path);
            }
        }
    }

    private static void CheckGolden(ModelSession model, CancellationToken cancellationToken)
    {
        var golden = model.Definition.Golden;
        for (var i = 0; i < golden.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var sample = golden[i];
            var error = TensorValidator.Validate(new InferenceRequest(sample.Inputs), model.Signature, long.MaxValue);
            if (error is not null)
            {
                throw new ModelLoadException(ModelLoadStage.GoldenCheck, $"golden sample {i}: inputs do not fit the model: {error.Message}");
            }

            var names = sample.ExpectedOutputs.Select(o => o.Name).ToArray();
            if (TensorValidator.ValidateOutputs(names, model.Signature) is { } unknown)
            {
                throw new ModelLoadException(ModelLoadStage.GoldenCheck, $"golden sample {i}: {unknown.Message}");
            }

            InferenceTensor[] outputs;
            try
            {
                outputs = model.Run(sample.Inputs, names);
            }
            catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            catch (OnnxRuntimeException e)
            {
                throw new ModelLoadException(ModelLoadStage.GoldenCheck, $"golden sample {i}: run failed: {e.Message}", e);
            }

            if (GoldenCheck.Compare(outputs, sample.ExpectedOutputs, sample.AbsoluteTolerance, sample.RelativeTolerance) is { } difference)
            {
                throw new ModelLoadException(ModelLoadStage.GoldenCheck, $"golden sample {i}: {difference}");
            }
        }
    }
}
