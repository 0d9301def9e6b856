using System.Threading.Channels;
using EdgeMl.Agent.Gpio;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Tensors;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.Agent.Tests.Gpio;

/// <summary>A real host with <c>AddGpio</c> over a simulated driver, a fake clock and a recording sink.</summary>
internal sealed class GpioTestHost : IAsyncDisposable
{
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    private GpioTestHost(IHost host, SimulatedGpioDriver driver, CountingFactory factory, RecordingSink sink, FakeTimeProvider time, SettableSignal signal)
    {
        Host = host;
        Driver = driver;
        Factory = factory;
        Sink = sink;
        Time = time;
        Signal = signal;
    }

    public IHost Host { get; }

    public SimulatedGpioDriver Driver { get; }

    public CountingFactory Factory { get; }

    public RecordingSink Sink { get; }

    public FakeTimeProvider Time { get; }

    public SettableSignal Signal { get; }

    public InferenceEngine Engine => Host.Services.GetRequiredService<InferenceEngine>();

    public LatestSampleCache Samples => Host.Services.GetRequiredService<LatestSampleCache>();

    /// <summary>Builds the host; <paramref name="useEngineSignal"/> keeps the default status signal computed from the engine.</summary>
    public static GpioTestHost Build(IDictionary<string, string?> settings, bool useEngineSignal = false)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var driver = new SimulatedGpioDriver();
        var factory = new CountingFactory(driver);
        var sink = new RecordingSink();
        var signal = new SettableSignal();
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddSingleton<IGpioControllerFactory>(factory);
        builder.Services.AddSingleton<IGpioSink>(sink);
        if (!useEngineSignal)
        {
            builder.Services.AddSingleton<IAgentStatusSignal>(signal);
        }

        builder.Services.AddLogging();
        builder.Services.AddGpio(builder.Configuration);
        return new GpioTestHost(builder.Build(), driver, factory, sink, time, signal);
    }

    public static Dictionary<string, string?> Settings(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => "EdgeMl:Gpio:" + p.Key, p => (string?)p.Value);

    private bool _started;

    public async Task StartAsync()
    {
        await Host.StartAsync();
        _started = true;
    }

    /// <summary>Moves the fake clock in small steps until <paramref name="condition"/> holds; the guard only stops a hang.</summary>
    public async Task AdvanceUntilAsync(Func<bool> condition, TimeSpan step, string what)
    {
        for (var i = 0; i < 10_000 && !condition(); i++)
        {
            Time.Advance(step);
            await Task.Yield();
            await Task.Delay(1);
        }

        Assert.True(condition(), $"never happened: {what}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_started)
        {
            using var cts = new CancellationTokenSource(Guard);
            await Host.StopAsync(cts.Token);
            _started = false;
        }

        Host.Dispose();
    }

    internal sealed class CountingFactory(SimulatedGpioDriver driver) : IGpioControllerFactory
    {
        public int Created { get; private set; }

        public System.Device.Gpio.GpioController Create(GpioOptions options)
        {
            Created++;
            return new System.Device.Gpio.GpioController(driver);
        }
    }

    internal sealed class SettableSignal : IAgentStatusSignal
    {
        public AgentSignal Current { get; set; } = AgentSignal.Off;
    }

    internal sealed class RecordingSink : IGpioSink
    {
        private readonly Channel<(GpioTriggered Trigger, InferenceResult? Result)> _received = Channel.CreateUnbounded<(GpioTriggered, InferenceResult?)>();

        public ValueTask OnInferenceAsync(GpioTriggered trigger, InferenceResult result, CancellationToken cancellationToken) =>
            _received.Writer.WriteAsync((trigger, result), cancellationToken);

        public ValueTask OnEventAsync(GpioTriggered trigger, CancellationToken cancellationToken) =>
            _received.Writer.WriteAsync((trigger, null), cancellationToken);

        public async Task<(GpioTriggered Trigger, InferenceResult? Result)> NextAsync()
        {
            using var cts = new CancellationTokenSource(Guard);
            return await _received.Reader.ReadAsync(cts.Token);
        }

        public bool TryNext(out (GpioTriggered Trigger, InferenceResult? Result) item) => _received.Reader.TryRead(out item);
    }
}
