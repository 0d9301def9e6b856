using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EdgeMl.Agent.Tests.EndToEnd;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.Deployment;

/// <summary>
/// The module's entry command as Docker composes it — the image's <c>ENTRYPOINT</c> and <c>CMD</c>, overridden by
/// the deployment's <c>createOptions</c> <c>Entrypoint</c>/<c>Cmd</c>, with the image's <c>ENV</c> and the
/// deployment's <c>env</c> (variables filled from <c>examples/module.env</c>) — started locally without Docker. The
/// container's file system is a temp folder and its network a set of free loopback ports; everything else is
/// taken as written. The agent must come up live and pass the image's own <c>HEALTHCHECK</c>.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed partial class EntryCommandTests : IDisposable
{
    private const string Module = "edgeml";
    private readonly TestPackages.TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>Every edgeml Dockerfile, with each template that deploys it (or none: <c>docker run IMAGE</c>).</summary>
    public static TheoryData<string, string> Images()
    {
        var data = new TheoryData<string, string>();
        var folder = Path.Combine(ModelFixtures.RepositoryRoot, "modules", Module);
        var platforms = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "module.json")))!["image"]!["tag"]!["platforms"]!.AsObject();
        var templates = Directory.GetFiles(ModelFixtures.RepositoryRoot, "deployment*.template.json").Select(t => Path.GetFileName(t)).Order(StringComparer.Ordinal).ToArray();
        foreach (var dockerfile in Directory.GetFiles(folder, "Dockerfile*").Select(d => Path.GetFileName(d)).Order(StringComparer.Ordinal))
        {
            // ${MODULES.edgeml} is the default platform's image (amd64), ${MODULES.edgeml.PLATFORM} another's.
            var images = platforms.Where(p => Path.GetFileName(p.Value!.GetValue<string>()) == dockerfile)
                .SelectMany(p => p.Key == "amd64" ? ["${MODULES.edgeml}", "${MODULES.edgeml.amd64}"] : new[] { $"${{MODULES.edgeml.{p.Key}}}" })
                .ToHashSet(StringComparer.Ordinal);
            var deploying = templates.Where(t => images.Contains(EdgeMlModule(File.ReadAllText(Path.Combine(ModelFixtures.RepositoryRoot, t)))["settings"]!["image"]!.GetValue<string>())).ToArray();
            foreach (var template in deploying.Length > 0 ? deploying : [""])
            {
                data.Add(dockerfile, template);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Images))]
    public async Task EntryCommand_AsImageAndTemplateDefineIt_StartsALiveAgentThatPassesTheHealthCheck(string dockerfile, string template)
    {
        var image = DockerImage.Parse(File.ReadAllText(Path.Combine(ModelFixtures.RepositoryRoot, "modules", Module, dockerfile)));
        var deployment = template.Length > 0 ? Deployment(template) : null;
        var root = _temp.Sub("container");
        var http = AgentProcess.FreePort();

        // Docker's rule: the deployment's Entrypoint replaces the image's and drops its CMD; its Cmd replaces CMD.
        var entrypoint = Strings(deployment?["createOptions"]?["Entrypoint"]) ?? image.Entrypoint;
        var command = Strings(deployment?["createOptions"]?["Cmd"]) ?? (deployment?["createOptions"]?["Entrypoint"] is null ? image.Cmd : []);
        string[] argv = [.. entrypoint, .. command];
        Assert.True(argv.Length >= 2 && argv[0] == ImageExecutable, $"{dockerfile}: the entry command is [{string.Join(", ", argv)}]");

        var environment = new Dictionary<string, string>(image.Environment, StringComparer.Ordinal);
        foreach (var (name, value) in deployment?["env"]?.AsObject() ?? [])
        {
            environment[name] = value!["value"]!.GetValue<string>();
        }

        foreach (var bind in deployment?["createOptions"]?["HostConfig"]?["Binds"]?.AsArray() ?? [])
        {
            Directory.CreateDirectory(Path.Combine(root, bind!.GetValue<string>().Split(':')[1].TrimStart('/')));
        }

        // The operator's part: the publisher's public key where the deployment expects it.
        using var publisher = SigningKey.Create();
        foreach (var (_, path) in environment.Where(e => e.Key.StartsWith("EdgeMl__TrustedKeyFiles__", StringComparison.Ordinal)))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(InContainer(root, path))!);
            await File.WriteAllTextAsync(InContainer(root, path), publisher.ExportPublicKeyPem());
        }

        // The image's /app: what the Dockerfile's own publish made (scripts/publish-image.sh, run by scripts/test.sh for
        // the images this machine can run), or else the agent's build folder with its own (apphost) launcher.
        var app = ImageBuild(dockerfile) ?? Path.GetDirectoryName(EdgeMlProcess.AgentDll)!;
        var info = new ProcessStartInfo(Path.Combine(app, Path.GetFileName(ImageExecutable)))
        {
            WorkingDirectory = app,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in argv[1..])
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("EdgeMl", StringComparison.OrdinalIgnoreCase) || k.StartsWith("EDGEML_", StringComparison.Ordinal) || k.StartsWith("IOTEDGE_", StringComparison.Ordinal)).ToArray())
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in environment.Where(e => e.Key != "DOTNET_ROOT"))
        {
            info.Environment[name] = value.StartsWith('/') ? InContainer(root, value) : value;
        }

        // The image's runtime is in /app (self-contained); the test build's launcher finds the one running the tests.
        var host = new FileInfo(DotnetHostPath);
        info.Environment["DOTNET_ROOT"] = Path.GetDirectoryName(host.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? host.FullName)!;

        // The container's own network namespace, as free ports here: the address the deployment gives, another port.
        info.Environment["EdgeMl__Http__Urls"] = environment.TryGetValue("EdgeMl__Http__Urls", out var urls) ? Port().Replace(urls, $":{http}") : $"http://127.0.0.1:{http}";
        info.Environment["EdgeMl__MetricsUrls"] = $"http://127.0.0.1:{AgentProcess.FreePort()}";
        info.Environment["EdgeMl__Grpc__Urls"] = "http://127.0.0.1:0";
        info.Environment["EdgeMl__Mqtt__Port"] = AgentProcess.FreePort().ToString(CultureInfo.InvariantCulture);

        using var agent = Process.Start(info)!;
        var output = new StringBuilder();
        agent.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        agent.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        agent.BeginOutputReadLine();
        agent.BeginErrorReadLine();
        try
        {
            await WaitUntilHealthyAsync([.. image.HealthCheck.Select(a => a.Replace("127.0.0.1/8000", $"127.0.0.1/{http}", StringComparison.Ordinal))], agent, output);

            if (environment.TryGetValue("EdgeMl__Http__Token", out var token))
            {
                // What a field engineer runs in the module's container (docker exec edgeml /app/edgeml status).
                var status = EdgeMlProcess.StartInfo(["status", "--url", $"http://127.0.0.1:{http}"]);
                status.Environment["EdgeMl__Http__Token"] = token;
                status.Environment.Remove("EDGEML_TOKEN");
                using var cli = Process.Start(status)!;
                var text = await cli.StandardOutput.ReadToEndAsync() + await cli.StandardError.ReadToEndAsync();
                await cli.WaitForExitAsync();
                Assert.True(cli.ExitCode == 0, $"edgeml status in the module exited {cli.ExitCode}: {text}");
                using var anonymous = new HttpClient();
                Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri($"http://127.0.0.1:{http}/api/health"))).StatusCode);
            }
        }
        finally
        {
            agent.Kill(entireProcessTree: true);
            await agent.WaitForExitAsync();
        }
    }

    /// <summary>
    /// The folder scripts/publish-image.sh published <paramref name="dockerfile"/> into, under <c>EDGEML_IMAGE_BUILDS</c>.
    /// With that variable set, an image this machine can run (x64) must have been published; arm64 images cannot run here.
    /// </summary>
    private static string? ImageBuild(string dockerfile)
    {
        if (Environment.GetEnvironmentVariable("EDGEML_IMAGE_BUILDS") is not { Length: > 0 } builds || dockerfile.Contains("arm64", StringComparison.Ordinal))
        {
            return null;
        }

        var folder = Path.GetFullPath(Path.Combine(builds, dockerfile));
        Assert.True(File.Exists(Path.Combine(folder, Path.GetFileName(ImageExecutable))), $"{dockerfile}: no published build in {folder} (scripts/publish-image.sh)");

        // One native executable: no managed assembly, and none of the Windows libraries ONNX Runtime's packages carry.
        Assert.Empty(Directory.GetFiles(folder, "*.dll"));
        return folder;
    }

    /// <summary>The images' entry point: the self-contained agent's executable in the image's /app.</summary>
    private const string ImageExecutable = "/app/edgeml";

    /// <summary>The dotnet host running the tests, resolved through PATH when the test host does not name it.</summary>
    private static string DotnetHostPath =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
        : (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "dotnet")).FirstOrDefault(File.Exists)
          ?? throw new InvalidOperationException("no dotnet on PATH");

    /// <summary>The edgeml module of a template, its variables filled from <c>examples/module.env</c> as iotedgedev fills them from <c>.env</c>.</summary>
    private static JsonObject Deployment(string template)
    {
        var variables = File.ReadAllLines(Path.Combine(ModelFixtures.RepositoryRoot, "examples", "module.env"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);

        // The shipped file leaves secrets blank for the operator; the test fills them in as the operator would.
        variables["EDGEML_HTTP_TOKEN"] = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        var text = Variable().Replace(File.ReadAllText(Path.Combine(ModelFixtures.RepositoryRoot, template)), m =>
            variables.TryGetValue(m.Groups["name"].Value, out var value) ? value : m.Value);
        var module = EdgeMlModule(text);
        return new JsonObject { ["env"] = module["env"]?.DeepClone(), ["createOptions"] = module["settings"]!["createOptions"]!.DeepClone() };
    }

    private static JsonObject EdgeMlModule(string template) =>
        JsonNode.Parse(template)!["modulesContent"]!["$edgeAgent"]!["properties.desired"]!["modules"]![Module]!.AsObject();

    private static string[]? Strings(JsonNode? node) => node switch
    {
        null => null,
        JsonArray array => array.Select(a => a!.GetValue<string>()).ToArray(),
        _ => ["/bin/sh", "-c", node.GetValue<string>()],
    };

    private static string InContainer(string root, string path) => Path.Combine(root, path.TrimStart('/'));

    private static async Task WaitUntilHealthyAsync(string[] healthCheck, Process agent, StringBuilder output)
    {
        var guard = Stopwatch.StartNew();
        while (guard.Elapsed < TimeSpan.FromSeconds(90))
        {
            if (agent.HasExited)
            {
                lock (output)
                {
                    Assert.Fail($"the entry command exited with {agent.ExitCode}:\n{output}");
                }
            }

            var check = new ProcessStartInfo(healthCheck[0]) { UseShellExecute = false, RedirectStandardError = true };
            foreach (var arg in healthCheck[1..])
            {
                check.ArgumentList.Add(arg);
            }

            using var probe = Process.Start(check)!;
            await probe.WaitForExitAsync();
            if (probe.ExitCode == 0)
            {
                return;
            }

            await Task.Delay(200);
        }

        lock (output)
        {
            Assert.Fail($"the agent did not pass its HEALTHCHECK within 90 s:\n{output}");
        }
    }

    [GeneratedRegex(@":\d+(?=/?$)")]
    private static partial Regex Port();

    [GeneratedRegex(@"\$\{?(?<name>[A-Z_][A-Z0-9_]*)\}?")]
    private static partial Regex Variable();

    /// <summary>The final stage of a Dockerfile: its environment, entry point, command and health check (exec form).</summary>
    private sealed record DockerImage(IReadOnlyDictionary<string, string> Environment, string[] Entrypoint, string[] Cmd, string[] HealthCheck)
    {
        public static DockerImage Parse(string dockerfile)
        {
            var lines = dockerfile.Replace("\\\n", " ", StringComparison.Ordinal).Split('\n').Select(l => l.Trim())
                .Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
            var stage = lines.Skip(lines.FindLastIndex(l => l.StartsWith("FROM ", StringComparison.Ordinal))).ToList();
            var environment = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var env in stage.Where(l => l.StartsWith("ENV ", StringComparison.Ordinal)))
            {
                foreach (Match pair in EnvPair().Matches(env[4..]))
                {
                    environment[pair.Groups["name"].Value] = pair.Groups["value"].Value.Trim('"');
                }
            }

            string[] Exec(string instruction) =>
                stage.LastOrDefault(l => l.StartsWith(instruction + " ", StringComparison.Ordinal)) is { } line
                    ? Strings(JsonNode.Parse(line[(line.IndexOf('[', StringComparison.Ordinal))..]))!
                    : [];
            var health = stage.Last(l => l.StartsWith("HEALTHCHECK ", StringComparison.Ordinal));
            return new DockerImage(environment, Exec("ENTRYPOINT"), Exec("CMD"), Strings(JsonNode.Parse(health[health.IndexOf(" CMD [", StringComparison.Ordinal)..].Trim()[4..]))!);
        }
    }

    [GeneratedRegex(@"(?<name>[A-Za-z_][A-Za-z0-9_]*)=(?<value>""[^""]*""|\S*)")]
    private static partial Regex EnvPair();
}
