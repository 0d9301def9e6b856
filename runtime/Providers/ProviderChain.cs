using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Runtime.Providers;

/// <summary>
/// Appends a configured chain of execution providers to session options, in order, skipping the ones this
/// ONNX Runtime build or device lacks and saying exactly why: not in the build, libraries that do not load (named),
/// no device, or ONNX Runtime's own error. ONNX Runtime itself falls back to the CPU silently; this makes the
/// fallback visible and, under <see cref="ProviderPolicy.Require"/> and <see cref="ProviderPolicy.Strict"/>, refuses it.
/// </summary>
internal sealed class ProviderChain(IReadOnlyCollection<string> available, IProviderAppender appender, IProviderProbe probe)
{
    /// <summary>ONNX Runtime's session option that turns "nodes on the CPU" into a session creation error.</summary>
    public const string DisableCpuFallback = "session.disable_cpu_ep_fallback";

    public IReadOnlyCollection<string> Available => available;

    public static ProviderChain ForThisBuild() => new(OrtEnv.Instance().GetAvailableProviders(), OnnxProviderAppender.Instance, NativeProviderProbe.Instance);

    /// <summary>Null when <paramref name="provider"/> can start here (in the build, libraries load, device visible); otherwise why not.</summary>
    public ProviderSkip? WhyNot(ExecutionProviderOptions provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        return Unusable(provider.Name.ToLowerInvariant(), provider.DeviceId, null);
    }

    /// <exception cref="ProviderUnavailableException">The policy is require or strict and the first provider cannot be used.</exception>
    public ProviderReport Apply(SessionOptions options, ProviderChainOptions chain, IReadOnlyDictionary<string, string>? failed = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(chain);
        var requested = chain.Providers.Select(p => p.Name.ToLowerInvariant()).ToList();
        var applied = new List<string>();
        var skipped = new List<ProviderSkip>();
        var strict = chain.Policy == ProviderPolicy.Strict;
        foreach (var provider in chain.Providers)
        {
            var name = provider.Name.ToLowerInvariant();
            if (applied.Contains(name) || skipped.Any(s => s.Provider == name))
            {
                continue;
            }

            if (strict && name != requested[0])
            {
                skipped.Add(new ProviderSkip(name, ProviderState.NotTried, $"policy strict: every node must run on {requested[0]}"));
                continue;
            }

            var skip = Unusable(name, provider.DeviceId, failed);
            if (skip is null)
            {
                try
                {
                    appender.Append(options, name, ProviderSettings.For(provider));
                    applied.Add(name);
                    continue;
                }
                catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException or NotSupportedException)
                {
                    // Present in the build, libraries and device found, and still ONNX Runtime would not enable it: its
                    // own message ("Failed to load shared library" says no more) is all there is to say.
                    skip = new ProviderSkip(name, ProviderState.InitFailed, $"ONNX Runtime could not enable it: {e.Message}");
                }
            }

            skipped.Add(skip);
            if (chain.Policy is ProviderPolicy.Require or ProviderPolicy.Strict && applied.Count == 0 && name == requested[0])
            {
                throw new ProviderUnavailableException($"provider '{name}' is required{(strict ? " (policy strict)" : "")} but unavailable: {skip.Reason}");
            }
        }

        if (strict && requested[0] != ProviderNames.Cpu)
        {
            // The first provider takes every node or the session is refused; ONNX Runtime refuses the flag together
            // with an explicitly appended CPU provider, and none is appended under strict.
            options.AddSessionConfigEntry(DisableCpuFallback, "1");
        }
        else if (!applied.Contains(ProviderNames.Cpu))
        {
            // ONNX Runtime always places what no other provider takes on the CPU.
            applied.Add(ProviderNames.Cpu);
        }

        return new ProviderReport(requested, applied, skipped, chain.Policy);
    }

    private ProviderSkip? Unusable(string name, int deviceId, IReadOnlyDictionary<string, string>? failed)
    {
        if (!ProviderNames.IsKnown(name))
        {
            return new ProviderSkip(name, ProviderState.NotInBuild, $"unknown provider; known: {string.Join(", ", ProviderNames.Known)}");
        }

        if (failed is not null && failed.TryGetValue(name, out var failure))
        {
            return new ProviderSkip(name, ProviderState.InitFailed, $"session creation failed: {failure}");
        }

        var onnxName = ProviderNames.ToOnnxName(name);
        if (!available.Contains(onnxName))
        {
            return new ProviderSkip(name, ProviderState.NotInBuild, $"{onnxName} is not in this ONNX Runtime build (available: {string.Join(", ", available)})");
        }

        if (probe.MissingLibraries(name) is { } libraries)
        {
            return new ProviderSkip(name, ProviderState.LibrariesMissing, $"in this ONNX Runtime build, but its libraries do not load: {libraries}");
        }

        return probe.MissingDevice(name, deviceId) is { } device
            ? new ProviderSkip(name, ProviderState.NoDevice, $"its libraries load, but no device is visible: {device}")
            : null;
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
