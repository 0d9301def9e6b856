using System.Diagnostics.Metrics;
using System.Threading.Channels;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.IoTHubSimulator;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace EdgeMl.CloudSync.Tests.IoTHub;

/// <summary>A client wired to a simulator on loopback, on a fake clock; waits are event-driven with generous guards.</summary>
internal sealed class IoTHubTestHarness : IAsyncDisposable
{
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private readonly Channel<IoTHubConnectionStateChangedEventArgs> _states = Channel.CreateUnbounded<IoTHubConnectionStateChangedEventArgs>();
    private readonly CancellationTokenSource _stop = new();
    private IAsyncEnumerator<DesiredPropertiesUpdate>? _desired;

    private IoTHubTestHarness(IoTHubClient client, FakeTimeProvider time, TestMeterFactory meters, string caFile)
    {
        Client = client;
        Time = time;
        Meters = meters;
        CaFile = caFile;
        client.ConnectionStateChanged += (_, e) => _states.Writer.TryWrite(e);
    }

    public IoTHubClient Client { get; }

    public FakeTimeProvider Time { get; }

    public TestMeterFactory Meters { get; }

    public string CaFile { get; }

    public static string WriteCaFile(IoTHubSimulator.IoTHubSimulator simulator)
    {
        var path = Path.Combine(Path.GetTempPath(), $"edgeml-sim-ca-{Guid.NewGuid():N}.pem");
        File.WriteAllText(path, simulator.Certificates.CertificateAuthorityPem);
        return path;
    }

    public static IoTHubTestHarness Create(IoTHubSimulator.IoTHubSimulator simulator, string? connectionString, ITestOutputHelper? output,
        Action<IoTHubClientOptions>? configure = null, IDictionary<string, string>? environment = null, FakeTimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(simulator);
        time ??= new FakeTimeProvider(DateTimeOffset.UtcNow);
        simulator.Time = time;
        var caFile = WriteCaFile(simulator);
        var options = new IoTHubClientOptions
        {
            ConnectionString = connectionString,
            TrustedCaCertificatePath = caFile,
            OperationTimeout = TimeSpan.FromSeconds(30),
            ReconnectSpread = TimeSpan.Zero, // one device: the fleet's spread is BackOffTests' subject
        };
        configure?.Invoke(options);
        var meters = new TestMeterFactory();
        var env = environment ?? new Dictionary<string, string>();
        var client = new IoTHubClient(Options.Create(options), time, new TestLogger<IoTHubClient>(output), meters,
            name => env.TryGetValue(name, out var v) ? v : null, () => 0.5);
        return new IoTHubTestHarness(client, time, meters, caFile);
    }

    public Task StartAsync() => Client.StartAsync(_stop.Token);

    public async Task<IoTHubConnectionStateChangedEventArgs> WaitForStateAsync(Func<IoTHubConnectionStateChangedEventArgs, bool> match)
    {
        using var cts = new CancellationTokenSource(Guard);
        await foreach (var state in _states.Reader.ReadAllAsync(cts.Token))
        {
            if (match(state))
            {
                return state;
            }
        }

        throw new InvalidOperationException("state stream ended");
    }

    public Task<IoTHubConnectionStateChangedEventArgs> WaitForConnectedAsync() =>
        WaitForStateAsync(s => s.State == IoTHubConnectionState.Connected);

    /// <summary>Drives reconnect back-off on the fake clock: each failure's delay is advanced as soon as it is announced.</summary>
    public Task AdvanceUntilConnectedAsync() => AdvanceUntilAsync(s => s.State == IoTHubConnectionState.Connected);

    public async Task<IoTHubConnectionStateChangedEventArgs> AdvanceUntilAsync(Func<IoTHubConnectionStateChangedEventArgs, bool> match)
    {
        while (true)
        {
            var state = await WaitForStateAsync(s => match(s) || s.RetryIn > TimeSpan.Zero);
            if (match(state))
            {
                return state;
            }

            Time.Advance(state.RetryIn!.Value);
        }
    }

    public async Task<DesiredPropertiesUpdate> NextDesiredAsync()
    {
        _desired ??= Client.ReadDesiredUpdatesAsync(_stop.Token).GetAsyncEnumerator();
        var next = _desired.MoveNextAsync().AsTask();
        if (!await next.WaitAsync(Guard))
        {
            throw new InvalidOperationException("desired stream ended");
        }

        return _desired.Current;
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(Guard);
        await Client.StopAsync(cts.Token);
        await _stop.CancelAsync();
        Client.Dispose();
        Meters.Dispose();
        _stop.Dispose();
        File.Delete(CaFile);
    }
}

internal sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
        lock (_meters)
        {
            _meters.Add(meter);
        }

        return meter;
    }

    public void Dispose()
    {
        lock (_meters)
        {
            _meters.ForEach(m => m.Dispose());
            _meters.Clear();
        }
    }
}

internal sealed class TestLogger<T>(ITestOutputHelper? output) : ILogger<T>
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => output is not null;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        try
        {
            output?.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {eventId.Id} {formatter(state, exception)}{(exception is null ? "" : " " + exception.GetType().Name + ": " + exception.Message)}");
        }
        catch (InvalidOperationException)
        {
            // The test already finished; its output helper is closed.
        }
    }
}
