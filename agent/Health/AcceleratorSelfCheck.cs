using EdgeMl.Runtime.Providers;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.Health;

/// <summary>
/// The accelerator self-check (<see cref="AcceleratorCheck"/>) run once at start and logged, then carried in every
/// health document as <c>accelerators</c>. Libraries and GPUs do not change under a running agent, so it is not
/// repeated; an operator who fixes the image restarts the module anyway.
/// </summary>
internal sealed class AcceleratorSelfCheck(ILogger<AcceleratorSelfCheck> logger) : IHostedService, IHealthContributor
{
    private readonly ILogger _logger = logger;
    private readonly Lazy<AcceleratorsHealth> _health = new(() => From(AcceleratorCheck.Run()));

    public AcceleratorsHealth Health => _health.Value;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var health = Health;
        var onnx = health.OnnxRuntime;
        Log.OnnxRuntimeBuild(_logger, onnx.Version, onnx.Flavour, string.Join(", ", onnx.Providers), onnx.Library ?? "an unknown path");
        if (health.Cuda.Devices.Count > 0)
        {
            Log.GpusFound(_logger, health.Cuda.DriverVersion ?? "unknown", string.Join("; ", health.Cuda.Devices.Select(d => $"{d.Index}: {d.Name}, {d.MemoryBytes >> 20} MiB, compute {d.ComputeCapability}")));
        }
        else
        {
            Log.NoGpu(_logger, health.Cuda.Error ?? "the driver reports none");
        }

        var missing = health.Libraries.Where(l => !l.Found).Select(l => l.Name).ToArray();
        Log.AcceleratorLibraries(_logger, Names(health.Libraries.Where(l => l.Found).Select(l => l.Name)), Names(missing), health.TensorRtVersion ?? "not found");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Contribute(HealthDocument health) => health.Accelerators = Health;

    internal static AcceleratorsHealth From(AcceleratorReport report) => new(
        new OnnxRuntimeHealth(report.OnnxRuntimeVersion, report.Flavour, report.Providers, report.NativeLibrary),
        report.Libraries.Select(l => new LibraryHealth(l.Name, l.Found, l.Detail)).ToArray(),
        new CudaHealth(report.Cuda.DriverVersion, report.Cuda.LoadError is { } load ? $"the CUDA driver does not load: {load}" : report.Cuda.Error,
            report.Cuda.Devices.Select(d => new GpuHealth(d.Ordinal, d.Name, d.TotalMemoryBytes, d.ComputeCapability)).ToArray()),
        report.TensorRtVersion);

    private static string Names(IEnumerable<string> names) => string.Join(", ", names) is { Length: > 0 } text ? text : "none";
}
