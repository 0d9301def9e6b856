using System.Text.Json;
using EdgeMl.IoTHubSimulator;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;
using Sim = EdgeMl.IoTHubSimulator.IoTHubSimulator;

namespace EdgeMl.Sensor.Tests;

/// <summary>The sensor module, as deployed, against the simulator in edgeHub mode on loopback.</summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class FrameSenderTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private Sim _sim = null!;
    private SimulatedIdentity _module = null!;
    private string _caFile = null!;

    public async Task InitializeAsync()
    {
        _sim = new Sim(new IoTHubSimulatorOptions { EdgeHubMode = true });
        await _sim.StartAsync();
        _module = _sim.AddModule("edge01", "sensor");
        _caFile = Path.Combine(Path.GetTempPath(), $"edgeml-sensor-ca-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(_caFile, _sim.Certificates.CertificateAuthorityPem);
    }

    public async Task DisposeAsync()
    {
        await _sim.DisposeAsync();
        File.Delete(_caFile);
    }

    [Fact]
    public async Task Run_ThreeFrames_ArriveOnFramesAsJsonTheClassifierAccepts()
    {
        using var host = Build(("Sensor:Interval", "00:00:00.050"), ("Sensor:MessageCount", "3"));
        await host.StartAsync();

        await _sim.WaitForMessagesAsync(_module, 3, Guard);
        await host.StopAsync();
        var messages = _sim.Messages.Where(m => m.IdentityKey == _module.Key).ToList();

        Assert.Equal(3, messages.Count);
        Assert.All(messages, m =>
        {
            Assert.Equal("frames", m.OutputName);
            Assert.Equal("application/json", m.SystemProperties["$.ct"]);
            Assert.Equal("utf-8", m.SystemProperties["$.ce"]);
            Assert.Equal("ocr-cls", m.ApplicationProperties["model"]);
            Assert.InRange(m.Body.Length, 100_000, 256 * 1024);
        });
        Assert.Equal(["1", "2", "3"], messages.Select(m => m.ApplicationProperties["frame"]));
        Assert.NotEqual(messages[0].BodyText, messages[1].BodyText);

        using var engine = new InferenceEngine(new ModelLoader(), new RuntimeMetrics(new TestMeterFactory()), TimeProvider.System);
        var activation = await engine.ActivateAsync(new ModelDefinition
        {
            Name = "ocr-cls",
            Version = 1,
            ModelPath = ModelFixtures.Classifier,
            Session = new ModelSessionOptions { IntraOpThreads = 1, ReportNodePlacement = false },
            WarmUp = new WarmUpOptions { Runs = 0 },
        });
        Assert.True(activation.Succeeded, activation.Failure?.Reason);
        foreach (var message in messages)
        {
            var input = ReadOpenInferenceInput(message.Body);
            var result = await engine.InferAsync("ocr-cls", new InferenceRequest([input]));
            Assert.True(result.IsSuccess, result.Error?.Message);
            var scores = result.Output(ModelFixtures.ClassifierOutput).Span<float>().ToArray();
            Assert.Equal(1f, scores.Sum(), 3);
        }
    }

    [Fact]
    public async Task Start_IntervalZero_RefusedAtStartUp()
    {
        using var host = Build(("Sensor:Interval", "00:00:00"));

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(e.Failures, f => f.Contains("Interval", StringComparison.Ordinal));
        Assert.Empty(_sim.Messages);
    }

    private IHost Build(params (string Key, string Value)[] settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["IoTHub:ConnectionString"] = _sim.ConnectionString(_module),
            ["IoTHub:TrustedCaCertificatePath"] = _caFile,
        });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        builder.Logging.AddProvider(new OutputLoggerProvider(output));
        builder.Services.AddSensor(builder.Configuration);
        return builder.Build();
    }

    /// <summary>Reads the request as an Open Inference Protocol client would send it: one FP32 input with its shape.</summary>
    private static InferenceTensor ReadOpenInferenceInput(byte[] body)
    {
        using var json = JsonDocument.Parse(body);
        var input = Assert.Single(json.RootElement.GetProperty("inputs").EnumerateArray());
        Assert.Equal("x", input.GetProperty("name").GetString());
        Assert.Equal("FP32", input.GetProperty("datatype").GetString());
        var shape = input.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        Assert.Equal(ModelFixtures.ClassifierShape, shape);
        var data = input.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(3 * 48 * 192, data.Length);
        Assert.All(data, v => Assert.InRange(v, -1f, 1f));
        return InferenceTensor.Create("x", shape, data);
    }

    private sealed class OutputLoggerProvider(ITestOutputHelper output) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new OutputLogger(output, categoryName);

        public void Dispose()
        {
        }
    }

    private sealed class OutputLogger(ITestOutputHelper output, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            try
            {
                output.WriteLine($"{logLevel} {category} {eventId.Id} {formatter(state, exception)} {exception?.Message}");
            }
            catch (InvalidOperationException)
            {
                // The test already finished; its output helper is closed.
            }
        }
    }
}
