using EdgeMl.Agent.Desired;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Sessions;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Sync;

/// <summary>Turns a desired model entry into the runtime's settings, with caches under the data folder.</summary>
internal sealed class ModelSettingsFactory(IOptions<AgentOptions> options)
{
    private readonly AgentOptions _options = options.Value;

    public ModelRuntimeSettings For(DesiredModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new ModelRuntimeSettings
        {
            Session = new ModelSessionOptions { IntraOpThreads = model.Threads, OptimizedModelCache = _options.DataPath("cache", "optimized") },
            Providers = model.Providers is { } names
                ? new ProviderChainOptions { Policy = model.Policy, Providers = names.Select(Provider).ToList() }
                : null,
            Serving = new ServingOptions
            {
                MaxConcurrency = model.MaxConcurrency ?? new ServingOptions().MaxConcurrency,
                Batching = new BatchingOptions { Enabled = model.Batching, Auto = model.BatchingAuto, MaxBatchSize = model.MaxBatchSize, MaxDelay = model.MaxBatchDelay },
            },
        };
    }

    private ExecutionProviderOptions Provider(string name) => name switch
    {
        // Engines and timing caches per model hash, TensorRT version and GPU, so a changed model or device never reuses a stale engine.
        ProviderNames.TensorRt => new ExecutionProviderOptions { Name = name, CacheRoot = _options.DataPath("cache", "tensorrt") },
        _ => new ExecutionProviderOptions { Name = name },
    };
}
