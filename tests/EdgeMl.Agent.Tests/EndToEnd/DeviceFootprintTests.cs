using System.Globalization;
using System.Text.RegularExpressions;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.EndToEnd;

/// <summary>
/// What the real <c>edgeml run</c> leaves on a device beside serving: files outside its data directory (none), and
/// the memory of its start, given back once the model serves.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed partial class DeviceFootprintTests : IAsyncLifetime
{
    private const string Model = "ocr-cls";

    /// <summary>
    /// The variables by which ONNX Runtime recognises a CI machine and keeps its telemetry quiet by itself, and its own
    /// switch: the agent does not inherit them, so the test sees what a device sees.
    /// </summary>
    private static readonly string[] Quieting =
        ["ORT_DISABLE_TELEMETRY", "ORT_RUNNING_UNIT_TESTS", "CI", "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "TF_BUILD", "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI"];

    private readonly TestPackages.TempFolder _temp = new();
    private AgentProcess _agent = null!;

    public async Task InitializeAsync()
    {
        using var key = SigningKey.Create();
        var package = TestPackages.Classifier(_temp.Sub("pkg"), Model, 1, key);
        TestPackages.PublishToFolder(_temp.Sub("registry"), package, key, DateTimeOffset.UtcNow.AddDays(1));
        var trust = Path.Combine(_temp.Path, "trust.pem");
        await File.WriteAllTextAsync(trust, key.ExportPublicKeyPem());
        var home = Directory.CreateDirectory(_temp.Sub("home")).FullName;
        _agent = AgentProcess.Start(
            [
                $"--EdgeMl:DataDirectory={_temp.Sub("data")}",
                $"--EdgeMl:TrustedKeyFiles:0={trust}",
                $"--EdgeMl:Mqtt:EmbeddedPort={AgentProcess.FreePort()}",
                $"--EdgeMl:Desired:registry={_temp.Sub("registry")}",
                $"--EdgeMl:Desired:models:{Model}:version=latest",
                $"--EdgeMl:Desired:models:{Model}:providers=cpu",
            ],
            environment: new Dictionary<string, string> { ["HOME"] = home, ["XDG_CACHE_HOME"] = Path.Combine(home, ".cache") },
            unset: Quieting);
        await _agent.WaitUntilLiveAsync();
        await _agent.WaitUntilAsync(async () =>
        {
            using var ready = await _agent.Http.GetAsync(ReadinessProbe.Ready);
            return ready.IsSuccessStatusCode;
        }, "readiness with the model serving");
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _temp.Dispose();
    }

    /// <remarks>
    /// ONNX Runtime's Linux packages (1.32) would write a device id and a telemetry store under
    /// <c>$HOME/.cache/Microsoft/DeveloperTools/.onnxruntime</c> when the model loads, and queue events for Microsoft.
    /// </remarks>
    [Fact]
    public async Task Run_ServingAModel_WritesNothingInItsUsersHomeAndNoOnnxRuntimeTelemetry()
    {
        using var body = new StringContent(PredictionRequest(), System.Text.Encoding.UTF8, "application/json");
        using var response = await _agent.Http.PostAsync($"/v2/models/{Model}/infer", body);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());

        var written = Directory.EnumerateFileSystemEntries(_temp.Sub("home"), "*", SearchOption.AllDirectories).ToList();
        Assert.True(written.Count == 0, $"the agent wrote into its user's home: {string.Join(", ", written)}");
    }

    /// <summary>
    /// The settings files are read once: no inotify watcher (a thread and its buffers) on the executable's folder,
    /// from the agent's host or the gRPC server's own, which the host builders would each start by default.
    /// </summary>
    /// <summary>The gRPC server's own host has no lifetime of its own: the start is told once, and by the agent's host.</summary>
    [Fact]
    public void Run_ServingAModel_SaysOnceThatItStarted()
    {
        foreach (var line in (string[])["Application started.", "Hosting environment:", "Content root path:"])
        {
            var count = _agent.Output.Split('\n').Count(l => l.Contains(line, StringComparison.Ordinal));
            Assert.True(count == 1, $"'{line}' {count} times in the output of one start:\n{_agent.Output}");
        }
    }

    [Fact]
    public void Run_ServingAModel_WatchesNoFiles()
    {
        var watchers = Directory.EnumerateFileSystemEntries($"/proc/{_agent.Id}/fd").Select(Target).Count(target => target == "anon_inode:inotify");

        Assert.True(watchers == 0, $"the agent holds {watchers} inotify watchers");
    }

    /// <summary>What a descriptor of the agent refers to; null for one it closed while the test looked.</summary>
    private static string? Target(string fd)
    {
        try
        {
            return new FileInfo(fd).LinkTarget;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    [Fact]
    public async Task Run_OnceTheModelServes_GivesTheMemoryOfItsStartBack()
    {
        await _agent.WaitUntilAsync(() => Task.FromResult(ReleasedLine().IsMatch(_agent.Output)), "the memory released after start-up");

        var line = ReleasedLine().Match(_agent.Output);
        var before = double.Parse(line.Groups["before"].Value, CultureInfo.InvariantCulture);
        var after = double.Parse(line.Groups["after"].Value, CultureInfo.InvariantCulture);
        Assert.True(after < before, line.Value);
        using var metrics = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var text = await metrics.GetStringAsync(new Uri($"http://127.0.0.1:{_agent.MetricsPort.ToString(CultureInfo.InvariantCulture)}/metrics"));
        Assert.Matches("\ndotnet_gc_collections_total\\{gc_heap_generation=\"gen2\"\\} [1-9]", text);
    }

    private static string PredictionRequest() =>
        $$"""{"inputs":[{"name":"{{ModelFixtures.ClassifierInput}}","shape":[1,3,48,192],"datatype":"FP32","data":[{{string.Join(',', Enumerable.Repeat("0.5", 3 * 48 * 192))}}]}]}""";

    [GeneratedRegex(@"Gave (?<released>[0-9.]+) MB back to the system after start-up or a model load: resident set (?<before>[0-9.]+) MB → (?<after>[0-9.]+) MB")]
    private static partial Regex ReleasedLine();
}
