using System.Device.Gpio;
using EdgeMl.Agent.Gpio;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.Agent.Tests.Gpio;

public sealed class StatusLightTests
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    [Fact]
    public void Patterns_EverySignal_DistinctOverTwoSeconds()
    {
        var signals = Enum.GetValues<AgentSignal>();
        var traces = signals.ToDictionary(s => s, s => string.Concat(Enumerable.Range(0, 40).Select(i => BlinkPattern.For(s).At(TimeSpan.FromMilliseconds(i * 50)).On ? '1' : '0')));

        Assert.Equal(signals.Length, traces.Values.Distinct().Count());
        Assert.Equal(new string('1', 40), traces[AgentSignal.Serving]);
        Assert.Equal(new string('0', 40), traces[AgentSignal.Off]);
        Assert.Equal(new string('1', 20) + new string('0', 20), traces[AgentSignal.Degraded]);
        Assert.StartsWith("11001100", traces[AgentSignal.Updating], StringComparison.Ordinal);
    }

    [Fact]
    public void At_MidStep_SaysWhenItNextChanges()
    {
        Assert.Equal((false, TimeSpan.FromMilliseconds(100)), BlinkPattern.For(AgentSignal.Error).At(TimeSpan.FromMilliseconds(200)));
        Assert.Equal((true, TimeSpan.FromMilliseconds(100)), BlinkPattern.For(AgentSignal.Updating).At(TimeSpan.FromMilliseconds(1200)));
        Assert.Equal(TimeSpan.MaxValue, BlinkPattern.For(AgentSignal.Serving).At(TimeSpan.FromHours(5)).Remaining);
    }

    [Fact]
    public void Update_ErrorOnFakeClock_FlickersItsLightAndDarkensTheOthers()
    {
        var time = new FakeTimeProvider();
        var driver = new SimulatedGpioDriver();
        using var controller = new GpioController(driver);
        var signal = new GpioTestHost.SettableSignal { Current = AgentSignal.Error };
        var lights = new StatusLights(controller, [new GpioLightOptions { Pin = 5, Signal = GpioLightSignal.Error }, new GpioLightOptions { Pin = 6, Signal = GpioLightSignal.Serving }, new GpioLightOptions { Pin = 7, Signal = GpioLightSignal.Any, ActiveLow = true }], signal, time);
        lights.Open();

        var observed = new List<(PinValue Error, PinValue Serving, PinValue Any)>();
        for (var i = 0; i < 4; i++)
        {
            var next = lights.Update(Poll);
            observed.Add((driver.ValueOf(5), driver.ValueOf(6), driver.ValueOf(7)));
            Assert.Equal(TimeSpan.FromMilliseconds(150), next);
            time.Advance(next);
        }

        Assert.Equal([(PinValue.High, PinValue.Low, PinValue.Low), (PinValue.Low, PinValue.Low, PinValue.High), (PinValue.High, PinValue.Low, PinValue.Low), (PinValue.Low, PinValue.Low, PinValue.High)], observed);
    }

    [Fact]
    public void Update_SignalChanges_PatternRestartsAtOnce()
    {
        var time = new FakeTimeProvider();
        var driver = new SimulatedGpioDriver();
        using var controller = new GpioController(driver);
        var signal = new GpioTestHost.SettableSignal { Current = AgentSignal.Degraded };
        var lights = new StatusLights(controller, [new GpioLightOptions { Pin = 5, Signal = GpioLightSignal.Any }], signal, time);
        lights.Open();
        lights.Update(Poll);
        time.Advance(TimeSpan.FromMilliseconds(1500)); // mid "off" of the slow blink

        lights.Update(Poll);
        var whileDegraded = driver.ValueOf(5);
        signal.Current = AgentSignal.Serving;
        var next = lights.Update(Poll);

        Assert.Equal(PinValue.Low, whileDegraded);
        Assert.Equal(PinValue.High, driver.ValueOf(5));
        Assert.Equal(Poll, next);
        Assert.Equal([PinValue.High, PinValue.Low, PinValue.High], driver.WritesTo(5).Skip(1));
    }

    [Fact]
    public async Task Service_SignalGoesFromServingToUpdating_LightDoubleFlashes()
    {
        await using var host = GpioTestHost.Build(GpioTestHost.Settings(("Lights:0:Pin", "12"), ("Lights:0:Signal", "Any")));
        host.Signal.Current = AgentSignal.Serving;
        await host.StartAsync();
        await host.AdvanceUntilAsync(() => host.Driver.ValueOf(12) == PinValue.High, TimeSpan.FromMilliseconds(50), "serving light on");

        host.Signal.Current = AgentSignal.Updating;
        await host.AdvanceUntilAsync(() => host.Driver.WritesTo(12).Count(v => v == PinValue.Low) >= 3, TimeSpan.FromMilliseconds(50), "two flashes");

        Assert.Equal(PinMode.Output, host.Driver.ModeOf(12));
        Assert.Equal([PinValue.High, PinValue.Low, PinValue.High, PinValue.Low], driver(host).SkipWhile(v => v == PinValue.Low).Take(4));

        static IReadOnlyList<PinValue> driver(GpioTestHost h) => h.Driver.WritesTo(12);
    }

    [Fact]
    public void From_Statuses_WorstWins()
    {
        var cpu = new ProviderReport(["cpu"], ["cpu"], [], ProviderPolicy.Prefer);
        var fellBack = new ProviderReport(["cuda", "cpu"], ["cpu"], [new ProviderSkip("cuda", ProviderState.NotInBuild, "missing")], ProviderPolicy.Prefer);
        ModelStatus Status(string name, ModelState state, ProviderReport? providers = null, long? loading = null, string? building = null) =>
            new(name, state, state == ModelState.Ready ? 1 : null, null, providers, null, loading, null) { Building = building };

        Assert.Equal(AgentSignal.Off, EngineStatusSignal.From([]));
        Assert.Equal(AgentSignal.Serving, EngineStatusSignal.From([Status("a", ModelState.Ready, cpu)]));
        Assert.Equal(AgentSignal.Degraded, EngineStatusSignal.From([Status("a", ModelState.Ready, cpu), Status("b", ModelState.Ready, fellBack)]));
        Assert.Equal(AgentSignal.Updating, EngineStatusSignal.From([Status("a", ModelState.Ready, fellBack, building: "tensorrt")]));
        Assert.Equal(AgentSignal.Updating, EngineStatusSignal.From([Status("a", ModelState.Ready, cpu, loading: 2)]));
        Assert.Equal(AgentSignal.Updating, EngineStatusSignal.From([Status("a", ModelState.Loading, loading: 1)]));
        Assert.Equal(AgentSignal.Error, EngineStatusSignal.From([Status("a", ModelState.Loading, loading: 1), Status("b", ModelState.Failed)]));
    }

    [Fact]
    public async Task EngineSignal_ClassifierFellBackFromCuda_Degraded()
    {
        await using var host = GpioTestHost.Build(new Dictionary<string, string?>(), useEngineSignal: true);
        var signal = host.Host.Services.GetRequiredService<IAgentStatusSignal>();
        var before = signal.Current;

        var activation = await host.Engine.ActivateAsync(new ModelDefinition
        {
            Name = "ocr-cls",
            Version = 1,
            ModelPath = ModelFixtures.Classifier,
            Providers = ProviderChainOptions.Of(ProviderPolicy.Prefer, "cuda", "cpu"),
            Session = new ModelSessionOptions { IntraOpThreads = 1, ReportNodePlacement = false },
            WarmUp = new WarmUpOptions { Runs = 1, Shapes = { ["x"] = ModelFixtures.ClassifierShape } },
        });

        Assert.True(activation.Succeeded, activation.Failure?.Reason);
        Assert.Equal(AgentSignal.Off, before);
        Assert.Equal(AgentSignal.Degraded, signal.Current);
    }
}
