using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Runtime.Providers;

/// <summary>
/// Appends a configured chain of execution providers to session options, in order, skipping the ones this
/// ONNX Runtime build or device lacks and saying why. ONNX Runtime itself falls back to the CPU silently;
/// this makes the fallback visible and, under <see cref="ProviderPolicy.Require"/>, refuses it.
/// </summary>
internal sealed class ProviderChain(IReadOnlyCollection<string> available, IProviderAppender appender)
{
    public IReadOnlyCollection<string> Available => available;

    public static ProviderChain ForThisBuild() => new(OrtEnv.Instance().GetAvailableProviders(), OnnxProviderAppender.Instance);

    /// <exception cref="ProviderUnavailableException">The policy is require and the first provider is missing.</exception>
    public ProviderReport Apply(SessionOptions options, ProviderChainOptions chain, IReadOnlyDictionary<string, string>? failed = null)
    {
        var requested = chain.Providers.Select(p => p.Name.ToLowerInvariant()).ToList();
        var applied = new List<string>();
        var skipped = new List<ProviderSkip>();
        foreach (var provider in chain.Providers)
        {
            var name = provider.Name.ToLowerInvariant();
            if (applied.Contains(name))
            {
                continue;
            }

            var reason = Unusable(name, failed);
            if (reason is null)
            {
                try
                {
                    appender.Append(options, name, ProviderSettings.For(provider));
                    applied.Add(name);
                    continue;
                }
                catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException or NotSupportedException)
                {
                    // Present in the build is not the same as usable on this device: the provider's own native
                    // libraries (CUDA, TensorRT, OpenVINO runtimes) are loaded only now.
                    reason = $"ONNX Runtime could not enable it: {e.Message}";
                }
            }

            skipped.Add(new ProviderSkip(name, reason));
            if (chain.Policy == ProviderPolicy.Require && applied.Count == 0 && name == requested[0])
            {
                throw new ProviderUnavailableException($"provider '{name}' is required but unavailable: {reason}");
            }
        }

        if (!applied.Contains(ProviderNames.Cpu))
        {
            // ONNX Runtime always places what no other provider takes on the CPU.
            applied.Add(ProviderNames.Cpu);
        }

        return new ProviderReport(requested, applied, skipped, chain.Policy);
    }

    private string? Unusable(string name, IReadOnlyDictionary<string, string>? failed)
    {
        if (!ProviderNames.IsKnown(name))
        {
            return $"unknown provider; known: {string.Join(", ", ProviderNames.Known)}";
        }

        if (failed is not null && failed.TryGetValue(name, out var failure))
        {
            return $"session creation failed: {failure}";
        }

        var onnxName = ProviderNames.ToOnnxName(name);
        return available.Contains(onnxName)
            ? null
            : $"{onnxName} is not in this ONNX Runtime build (available: {string.Join(", ", available)})";
    }
}

/// <summary>Enables one provider on session options; a seam so tests can see the order of the chain.</summary>
internal interface IProviderAppender
{
    void Append(SessionOptions options, string provider, Dictionary<string, string> settings);
}

internal sealed class OnnxProviderAppender : IProviderAppender
{
    public static OnnxProviderAppender Instance { get; } = new();

    public void Append(SessionOptions options, string provider, Dictionary<string, string> settings)
    {
        switch (provider)
        {
            case ProviderNames.Cpu:
                options.AppendExecutionProvider_CPU(1);
                break;
            case ProviderNames.Cuda:
            {
                using var cuda = new OrtCUDAProviderOptions();
                cuda.UpdateOptions(settings);
                options.AppendExecutionProvider_CUDA(cuda);
                break;
            }

            case ProviderNames.TensorRt:
            {
                using var trt = new OrtTensorRTProviderOptions();
                trt.UpdateOptions(settings);
                options.AppendExecutionProvider_Tensorrt(trt);
                break;
            }

            case ProviderNames.OpenVino:
                options.AppendExecutionProvider("OpenVINO", settings);
                break;
            case ProviderNames.VitisAi:
                options.AppendExecutionProvider("VitisAI", settings);
                break;
            default:
                throw new ArgumentException($"unknown provider '{provider}'", nameof(provider));
        }
    }
}
