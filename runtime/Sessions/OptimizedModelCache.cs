using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Runtime.Sessions;

/// <summary>
/// The optimized graph of a model, saved on its first load and read back on later ones (ONNX Runtime's
/// offline optimization). Keyed by model hash, provider chain and ONNX Runtime version, since an optimized
/// graph is specific to all three; written beside its final name and renamed only once the model passed
/// warm-up and golden checks, so a half-written or unchecked graph is never reused.
/// </summary>
internal sealed class OptimizedModelCache
{
    private readonly string _finalPath;
    private readonly string _pendingPath;

    private OptimizedModelCache(string finalPath)
    {
        _finalPath = finalPath;
        _pendingPath = finalPath + $".{Environment.ProcessId}.pending";
        ExistingPath = File.Exists(finalPath) ? finalPath : null;
    }

    /// <summary>The cached optimized graph to load instead of the model, when there is one.</summary>
    public string? ExistingPath { get; }

    public static OptimizedModelCache? For(ModelDefinition definition)
    {
        if (definition.Session.OptimizedModelCache is not { Length: > 0 } folder)
        {
            return null;
        }

        Directory.CreateDirectory(folder);
        string hash;
        using (var file = File.OpenRead(definition.ModelPath))
        {
            hash = Convert.ToHexStringLower(SHA256.HashData(file))[..16];
        }

        var providers = string.Join("-", definition.Providers.Providers.Select(p => p.Name.ToLowerInvariant()));
        var ort = OrtEnv.Instance().GetVersionString();
        var name = $"{definition.Name}-v{definition.Version}-{hash}-{providers}-ort{ort}-{definition.Session.Optimization}.onnx";
        return new OptimizedModelCache(Path.Combine(folder, name));
    }

    public void Configure(SessionOptions options)
    {
        if (ExistingPath is not null)
        {
            // Already optimized: optimizing again would only cost start-up time.
            options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL;
        }
        else
        {
            options.OptimizedModelFilePath = _pendingPath;
        }
    }

    public void Commit(ILogger logger)
    {
        if (ExistingPath is not null || !File.Exists(_pendingPath))
        {
            return;
        }

        try
        {
            using (var handle = File.OpenHandle(_pendingPath, FileMode.Open, FileAccess.ReadWrite))
            {
                RandomAccess.FlushToDisk(handle);
            }

            File.Move(_pendingPath, _finalPath, overwrite: true);
        }
        catch (IOException e)
        {
            // The cache saves start-up time; the model itself loaded fine.
            Log.OptimizedCacheFailed(logger, e, Path.GetFileName(_finalPath), version: 0);
            Abandon();
        }
    }

    public void Abandon()
    {
        try
        {
            File.Delete(_pendingPath);
        }
        catch (IOException)
        {
            // Left for the next load to overwrite.
        }
    }
}
