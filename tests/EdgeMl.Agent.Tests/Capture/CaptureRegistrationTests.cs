using System.Diagnostics.Metrics;
using EdgeMl.Agent.Capture;
using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Events;
using EdgeMl.CloudSync.Upload;
using EdgeMl.Runtime.Tensors;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Tests.Capture;

public sealed class CaptureRegistrationTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("edgeml-capture-di-").FullName;

    [Fact]
    public void AddCapture_Configuration_PerModelPolicyAndServices()
    {
        using var services = Build(new()
        {
            ["Capture:Defaults:SampleRate"] = "0.5",
            ["Capture:Models:cls:SampleRate"] = "1",
            ["Capture:Models:cls:LowConfidenceThreshold"] = "0.6",
            ["Drift:ModeratePsi"] = "0.15",
        });

        var settings = services.GetRequiredService<IOptions<CaptureSettings>>().Value;
        Assert.Equal(0.5, settings.For("other").SampleRate);
        Assert.Equal(1, settings.For("cls").SampleRate);
        Assert.Equal(0.6, settings.For("cls").LowConfidenceThreshold);
        Assert.Equal(0.15, services.GetRequiredService<IOptions<DriftOptions>>().Value.ModeratePsi);
        Assert.Same(services.GetRequiredService<DriftRegistry>(), services.GetRequiredService<IDriftSignal>());
        Assert.IsType<CaptureUploadSource>(services.GetRequiredService<ICaptureUploadSource>());
        Assert.Equal(2, services.GetServices<IHostedService>().Count());

        var recorder = services.GetRequiredService<CaptureRecorder>();
        var outcome = recorder.Capture(
            new InferenceRequest([InferenceTensor.Create("x", [1], new float[] { 1 })]),
            InferenceResult.Success("cls", 1, []),
            TimeSpan.Zero,
            "cpu");
        Assert.Equal(CaptureOutcome.Queued, outcome);
        Assert.Equal(1, services.GetRequiredService<CaptureWriterService>().DrainOnce());
        Assert.Equal(1, services.GetRequiredService<CaptureStore>().RecordCount);
    }

    [Fact]
    public void AddCapture_BadValues_EveryProblemReported()
    {
        using var services = Build(new()
        {
            ["Capture:Defaults:SampleRate"] = "2",
            ["Capture:Models:cls:MaxRecordBytes"] = "1",
            ["Capture:Store:QuotaBytes"] = "10",
        });

        var e = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<CaptureSettings>>().Value);
        Assert.Equal(3, e.Failures.Count());
        Assert.Contains(e.Failures, f => f.Contains("CaptureSettings.Defaults.SampleRate must be between 0 and 1", StringComparison.Ordinal));
        Assert.Contains(e.Failures, f => f.Contains("CaptureSettings.Models[cls].MaxRecordBytes must be between 256 and 67108864", StringComparison.Ordinal));
        Assert.Contains(e.Failures, f => f.Contains("CaptureSettings.Store.QuotaBytes must be between", StringComparison.Ordinal));
    }

    [Fact]
    public void AddCapture_ModerateAboveSignificant_Refused()
    {
        using var services = Build(new() { ["Drift:ModeratePsi"] = "0.3" });
        var e = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<DriftOptions>>().Value);
        Assert.Equal("Drift:ModeratePsi (0.3) must not exceed Drift:SignificantPsi (0.2).", Assert.Single(e.Failures));
    }

    [Fact]
    public void AddCapture_DriftOutOfRange_EveryProblemReported()
    {
        using var services = Build(new() { ["Drift:Window"] = "00:00:01", ["Drift:MinSamples"] = "0" });

        var e = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<DriftOptions>>().Value);
        Assert.Equal(2, e.Failures.Count());
        Assert.Contains(e.Failures, f => f.Contains("DriftOptions.Window must be between", StringComparison.Ordinal));
        Assert.Contains(e.Failures, f => f.Contains("DriftOptions.MinSamples must be between", StringComparison.Ordinal));
    }

    [Fact]
    public void AddCapture_CorruptStoreOnStart_ReportedAsEventAndMetricAndFreshStoreServes()
    {
        File.WriteAllBytes(Path.Combine(_folder, "capture.db"), Enumerable.Range(0, 8192).Select(i => (byte)(i * 7)).ToArray());
        using var services = Build([], s => s.AddSingleton(new AgentEventLog(TimeProvider.System)));
        using var movedAside = new MetricCollector<long>(services.GetRequiredService<IMeterFactory>(), CaptureMetrics.MeterName,
            "edgeml.capture.store.moved_aside");

        var store = services.GetRequiredService<CaptureStore>();
        movedAside.RecordObservableInstruments();

        var e = Assert.Single(services.GetRequiredService<AgentEventLog>().Recent());
        Assert.Equal(AgentEventKinds.CaptureStoreReplaced, e.Kind);
        Assert.Contains(store.Startup.MovedAsideTo!, e.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(store.Startup.MovedAsideTo));
        Assert.Equal(1, movedAside.LastMeasurement!.Value);
        Assert.Equal("ok", store.CheckIntegrity());
    }

    [Fact]
    public void AddCapture_SoundStoreOnStart_NoEvent()
    {
        using var services = Build([], s => s.AddSingleton(new AgentEventLog(TimeProvider.System)));

        Assert.Null(services.GetRequiredService<CaptureStore>().Startup.MovedAsideTo);
        Assert.Empty(services.GetRequiredService<AgentEventLog>().Recent());
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private ServiceProvider Build(Dictionary<string, string?> values, Action<IServiceCollection>? configure = null)
    {
        values["Capture:Store:Path"] = Path.Combine(_folder, "capture.db");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        configure?.Invoke(services);
        services.AddCapture(configuration);
        return services.BuildServiceProvider();
    }
}
