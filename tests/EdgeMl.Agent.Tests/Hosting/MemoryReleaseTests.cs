using EdgeMl.Agent.Hosting;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Serving;
using EdgeMl.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.Agent.Tests.Hosting;

public sealed class MemoryReleaseTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new();
    private readonly TestMeterFactory _meters = new();
    private readonly InferenceEngine _engine;
    private readonly MemoryRelease _release;
    private readonly TimeSpan _step = TimeSpan.FromMilliseconds(500);
    private int _collections;

    public MemoryReleaseTests()
    {
        _engine = new InferenceEngine(new ModelLoader(), new RuntimeMetrics(_meters), _time);
        _release = new MemoryRelease(_engine, _time, NullLogger<MemoryRelease>.Instance, () => Interlocked.Increment(ref _collections));
    }

    private int Collections => Volatile.Read(ref _collections);

    public Task InitializeAsync() => _release.StartAsync(CancellationToken.None);

    public async Task DisposeAsync()
    {
        await _release.StopAsync(CancellationToken.None);
        _release.Dispose();
        _engine.Dispose();
        _meters.Dispose();
    }

    [Fact]
    public async Task Start_QuietFor5Seconds_CollectsOnceAndNotAgainWithoutAnActivation()
    {
        var waited = await AdvanceUntilAsync(1);

        Assert.True(waited >= MemoryRelease.Quiet, $"collected {waited} after the start, before the quiet of {MemoryRelease.Quiet}");
        await AdvanceAsync(TimeSpan.FromMinutes(10));
        Assert.Equal(1, Collections);
    }

    [Fact]
    public async Task Activations_CloserThanTheQuiet_CollectOnceTheQuietAfterTheLast()
    {
        await AdvanceUntilAsync(1);

        await ActivateAsync();
        await AdvanceAsync(TimeSpan.FromSeconds(3));
        Assert.Equal(1, Collections);
        await ActivateAsync();
        var waited = await AdvanceUntilAsync(2);

        Assert.True(waited >= MemoryRelease.Quiet, $"collected {waited} after the second activation, before the quiet of {MemoryRelease.Quiet}");
        await AdvanceAsync(TimeSpan.FromMinutes(10));
        Assert.Equal(2, Collections);
    }

    [Fact]
    public async Task Stop_WhileWaiting_EndsWithoutCollecting()
    {
        await AdvanceAsync(TimeSpan.FromSeconds(1));

        await _release.StopAsync(CancellationToken.None);

        Assert.True(_release.ExecuteTask!.IsCompletedSuccessfully);
        Assert.Equal(0, Collections);
    }

    /// <summary>A load that fails is an activation too: reading the package allocated all the same.</summary>
    private Task<ActivationResult> ActivateAsync() =>
        _engine.ActivateAsync(new ModelDefinition { Name = "m", Version = 1, ModelPath = Path.Combine(Path.GetTempPath(), "no-such-model.onnx") });

    /// <returns>The fake time that passed until the count was reached.</returns>
    private async Task<TimeSpan> AdvanceUntilAsync(int collections)
    {
        var waited = TimeSpan.Zero;
        while (Collections < collections)
        {
            Assert.True(waited < TimeSpan.FromMinutes(1), $"no collection {collections} within a minute");
            await SettleAsync();
            if (Collections >= collections)
            {
                break;
            }

            _time.Advance(_step);
            waited += _step;
            await SettleAsync();
        }

        return waited;
    }

    private async Task AdvanceAsync(TimeSpan span)
    {
        var step = span > TimeSpan.FromSeconds(10) ? TimeSpan.FromMinutes(1) : _step;
        for (var passed = TimeSpan.Zero; passed < span; passed += step)
        {
            _time.Advance(step);
            await SettleAsync();
        }
    }

    /// <summary>Lets the service's continuations, which run on the thread pool, catch up with the fake clock.</summary>
    private static Task SettleAsync() => Task.Delay(20);
}
