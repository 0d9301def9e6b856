using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.EdgeHub;
using EdgeMl.Testing;

namespace EdgeMl.Agent.Tests.Deployment;

/// <summary>
/// The deployment templates read as IoT Edge tooling (iotedgedev, the VS Code extension, edgeAgent, edgeHub) reads
/// them, and every name in them — images, routes, inputs and outputs — matches something that exists.
/// </summary>
public sealed partial class DeploymentTemplateTests
{
    public static TheoryData<string> Templates => new() { "deployment.template.json", "deployment.gpu.template.json", "deployment.jetson.template.json" };

    private static readonly string[] RestartPolicies = ["never", "on-failure", "on-unhealthy", "always"];

    /// <summary>The sensor module's output (modules/sensor); its own tests check it sends there.</summary>
    private const string SensorOutput = "frames";

    [Theory]
    [MemberData(nameof(Templates))]
    public void Template_TopLevel_HasTheSchemaAndBothSystemTwins(string file)
    {
        var root = Read(file);

        Assert.Equal("4.0.0", root["$schema-template"]?.GetValue<string>());
        var content = Obj(root, "modulesContent");
        Assert.NotNull(content["$edgeAgent"]?["properties.desired"] as JsonObject);
        Assert.NotNull(content["$edgeHub"]?["properties.desired"] as JsonObject);
        foreach (var (name, twin) in content)
        {
            Assert.True(twin is JsonObject { Count: 1 } o && o["properties.desired"] is JsonObject, $"{name} must hold only properties.desired");
        }
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public void EdgeAgent_Desired_IsWhatEdgeAgentParses(string file)
    {
        var agent = EdgeAgent(file);

        Assert.Contains(agent["schemaVersion"]!.GetValue<string>(), new[] { "1.0", "1.1" });
        var runtime = Obj(agent, "runtime");
        Assert.Equal("docker", runtime["type"]!.GetValue<string>());
        var settings = Obj(runtime, "settings");
        Assert.Matches(@"^v\d+\.\d+$", settings["minDockerVersion"]!.GetValue<string>());
        foreach (var (registry, credentials) in Obj(settings, "registryCredentials"))
        {
            foreach (var field in new[] { "username", "password", "address" })
            {
                // Placeholders only: iotedgedev fills them from .env; a real secret never goes in the repository.
                Assert.Matches(@"^\$\{?[A-Z_]+\}?$", credentials![field]!.GetValue<string>());
            }

            Assert.False(string.IsNullOrEmpty(registry));
        }

        var system = Obj(agent, "systemModules");
        Assert.StartsWith("mcr.microsoft.com/azureiotedge-agent:", system["edgeAgent"]!["settings"]!["image"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.StartsWith("mcr.microsoft.com/azureiotedge-hub:", system["edgeHub"]!["settings"]!["image"]!.GetValue<string>(), StringComparison.Ordinal);
        foreach (var (name, module) in Modules(file).Concat(system))
        {
            Assert.Equal("docker", module!["type"]!.GetValue<string>());
            var createOptions = module["settings"]!["createOptions"];
            Assert.True(createOptions is JsonObject, $"{name}: createOptions must be an object in the template (the tooling stringifies it)");
            // iotedgedev splits the minified string into at most 8 twin values of 512 characters.
            Assert.True(createOptions!.ToJsonString().Length <= 8 * 512, $"{name}: createOptions too long for the deployment");
            if (name is not ("edgeAgent"))
            {
                Assert.Contains(module["restartPolicy"]!.GetValue<string>(), RestartPolicies);
                Assert.Contains(module["status"]!.GetValue<string>(), new[] { "running", "stopped" });
            }

            foreach (var (variable, value) in module["env"] as JsonObject ?? [])
            {
                Assert.True(value is JsonObject { Count: 1 } v && v["value"] is JsonValue, $"{name}: env {variable} must be {{\"value\": …}}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public void Modules_Images_NameModuleFoldersAndTheirPlatforms(string file)
    {
        foreach (var (name, module) in Modules(file))
        {
            var image = module!["settings"]!["image"]!.GetValue<string>();
            if (!image.StartsWith("${MODULES.", StringComparison.Ordinal))
            {
                Assert.Matches(@"^mcr\.microsoft\.com/[a-z0-9\-/]+:[0-9.]+$", image);
                continue;
            }

            var match = ModuleImage().Match(image);
            Assert.True(match.Success, $"{name}: {image} is not ${{MODULES.folder[.platform]}}");
            var folder = Path.Combine(ModelFixtures.RepositoryRoot, "modules", match.Groups["folder"].Value);
            var moduleJson = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "module.json")))!;
            var platforms = Obj(moduleJson["image"]!["tag"]!, "platforms");
            var platform = match.Groups["platform"].Success ? match.Groups["platform"].Value : "amd64";
            Assert.True(platforms.ContainsKey(platform), $"{name}: modules/{match.Groups["folder"].Value}/module.json has no platform {platform}");
            Assert.True(File.Exists(Path.Combine(folder, platforms[platform]!.GetValue<string>())), $"{name}: the {platform} Dockerfile is missing");
        }
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public void EdgeMl_CreateOptions_DataVolumeMetricsPortMemoryLimitAndNoPrivileges(string file)
    {
        var edgeml = Modules(file)["edgeml"]!;
        var create = Obj(edgeml["settings"]!, "createOptions");
        var host = Obj(create, "HostConfig");

        Assert.True(Obj(create, "ExposedPorts").ContainsKey("9600/tcp"));
        // The metrics-collector scrapes edgeml:9600 over the module network.
        Assert.Equal("http://0.0.0.0:9600", edgeml["env"]!["EdgeMl__MetricsUrls"]!["value"]!.GetValue<string>());
        var dataDirectory = edgeml["env"]!["EdgeMl__DataDirectory"]!["value"]!.GetValue<string>();
        Assert.Contains(host["Binds"]!.AsArray(), b => b!.GetValue<string>().Split(':') is [var source, var target, ..] && source.StartsWith('/') && target == dataDirectory);
        Assert.InRange(host["Memory"]!.GetValue<long>(), 256L << 20, 16L << 30);
        Assert.False(host["Privileged"]?.GetValue<bool>() ?? false);
        Assert.NotEqual("host", host["NetworkMode"]?.GetValue<string>());
        Assert.Null(host["CapAdd"]);
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public void EdgeMl_Api_ListensBeyondTheContainerBehindTheTokenAndIsPublishedOnTheHostsLoopbackOnly(string file)
    {
        var edgeml = Modules(file)["edgeml"]!;
        var create = Obj(edgeml["settings"]!, "createOptions");

        // A field engineer on the device opens http://127.0.0.1:8000/ and runs edgeml status, a local client calls
        // gRPC on 127.0.0.1:8001 (the same token); nothing off the device can.
        Assert.Equal("http://0.0.0.0:8000", edgeml["env"]!["EdgeMl__Http__Urls"]!["value"]!.GetValue<string>());
        Assert.Equal("http://0.0.0.0:8001", edgeml["env"]!["EdgeMl__Grpc__Urls"]!["value"]!.GetValue<string>());
        Assert.Equal("$EDGEML_HTTP_TOKEN", edgeml["env"]!["EdgeMl__Http__Token"]!["value"]!.GetValue<string>());
        var bindings = Obj(Obj(create, "HostConfig"), "PortBindings");
        Assert.Equal(["8000/tcp", "8001/tcp"], bindings.Select(b => b.Key).Order(StringComparer.Ordinal));
        foreach (var (port, binding) in bindings)
        {
            Assert.True(Obj(create, "ExposedPorts").ContainsKey(port));
            var published = Assert.Single(binding!.AsArray())!;
            Assert.Equal("127.0.0.1", published["HostIp"]!.GetValue<string>());
            Assert.Equal(port.Split('/')[0], published["HostPort"]!.GetValue<string>());
        }

        var variables = File.ReadAllLines(Path.Combine(ModelFixtures.RepositoryRoot, "examples", "module.env"))
            .Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split('=')[0]).ToHashSet(StringComparer.Ordinal);
        foreach (Match variable in TemplateVariable().Matches(File.ReadAllText(Path.Combine(ModelFixtures.RepositoryRoot, file))))
        {
            Assert.True(variables.Contains(variable.Groups["name"].Value), $"{file} uses ${variable.Groups["name"].Value}, which examples/module.env does not list");
        }
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public void EdgeMl_StopTimeout_OutlastsTheAgentsOwnStop(string file)
    {
        var edgeml = Modules(file)["edgeml"]!;
        var stopTimeout = Obj(edgeml["settings"]!, "createOptions")["StopTimeout"]?.GetValue<int>();
        var agent = new EdgeMl.Agent.AgentOptions();
        var shutdown = edgeml["env"]?["EdgeMl__ShutdownTimeout"]?["value"]?.GetValue<string>() is { } set ? TimeSpan.Parse(set, System.Globalization.CultureInfo.InvariantCulture) : agent.ShutdownTimeout;

        // IoT Edge stops a module with Docker's stop and no timeout of its own: without StopTimeout the container gets
        // Docker's 10 s, and SIGKILL would cut the drain short.
        Assert.NotNull(stopTimeout);
        Assert.True(TimeSpan.FromSeconds(stopTimeout.Value) > shutdown, $"StopTimeout {stopTimeout} s must outlast EdgeMl:ShutdownTimeout {shutdown}");
        Assert.True(agent.DrainWindow < shutdown);
    }

    [Fact]
    public void Jetson_EdgeMl_GetsTheGpuAndTheTensorRtChain()
    {
        const string file = "deployment.jetson.template.json";
        var edgeml = Modules(file)["edgeml"]!;
        var host = Obj(edgeml["settings"]!["createOptions"]!, "HostConfig");
        var desired = Read(file)["modulesContent"]!["edgeml"]!["properties.desired"]!;

        Assert.Equal("${MODULES.edgeml.arm64v8.jetson}", edgeml["settings"]!["image"]!.GetValue<string>());
        Assert.Equal("nvidia", host["Runtime"]!.GetValue<string>());
        var request = Assert.Single(host["DeviceRequests"]!.AsArray())!;
        Assert.Equal("nvidia", request["Driver"]!.GetValue<string>());
        Assert.Contains(request["Capabilities"]!.AsArray().SelectMany(c => c!.AsArray()), c => c!.GetValue<string>() == "gpu");
        foreach (var (model, settings) in desired["models"]!.AsObject())
        {
            Assert.Equal(["tensorrt", "cuda", "cpu"], settings!["providers"]!.AsArray().Select(p => p!.GetValue<string>()));
        }
    }

    [Fact]
    public void Gpu_EdgeMl_GetsTheGpuThroughDeviceRequestsAndTheTensorRtChain()
    {
        const string file = "deployment.gpu.template.json";
        var edgeml = Modules(file)["edgeml"]!;
        var host = Obj(edgeml["settings"]!["createOptions"]!, "HostConfig");
        var desired = Read(file)["modulesContent"]!["edgeml"]!["properties.desired"]!;

        Assert.Equal("${MODULES.edgeml.amd64.gpu}", edgeml["settings"]!["image"]!.GetValue<string>());
        // Docker's --gpus all: the NVIDIA container toolkit mounts the driver (libcuda.so.1) and the devices.
        var request = Assert.Single(host["DeviceRequests"]!.AsArray())!;
        Assert.Equal("nvidia", request["Driver"]!.GetValue<string>());
        Assert.Equal(-1, request["Count"]!.GetValue<int>());
        Assert.Equal([["gpu"]], request["Capabilities"]!.AsArray().Select(c => c!.AsArray().Select(x => x!.GetValue<string>()).ToArray()));
        Assert.Null(host["Runtime"]);
        Assert.InRange(host["Memory"]!.GetValue<long>(), 2L << 30, 16L << 30);
        foreach (var (_, settings) in desired["models"]!.AsObject())
        {
            Assert.Equal(["tensorrt", "cuda", "cpu"], settings!["providers"]!.AsArray().Select(p => p!.GetValue<string>()));
        }
    }

    [Fact]
    public void Cpu_EdgeMl_AsksForNoGpu()
    {
        var host = Obj(Modules("deployment.template.json")["edgeml"]!["settings"]!["createOptions"]!, "HostConfig");

        Assert.Null(host["DeviceRequests"]);
        Assert.Null(host["Runtime"]);
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public void EdgeHub_Routes_NameModulesInputsAndOutputsThatExist(string file)
    {
        var hub = Read(file)["modulesContent"]!["$edgeHub"]!["properties.desired"]!;
        var modules = Modules(file);
        var storeTtl = hub["storeAndForwardConfiguration"]!["timeToLiveSecs"]!.GetValue<int>();
        var routed = new HashSet<string>(StringComparer.Ordinal);

        Assert.Contains(hub["schemaVersion"]!.GetValue<string>(), new[] { "1.1", "1.2", "1.3" });
        Assert.InRange(storeTtl, 1, int.MaxValue);
        foreach (var (name, value) in hub["routes"]!.AsObject())
        {
            var text = value is JsonObject o ? o["route"]!.GetValue<string>() : value!.GetValue<string>();
            if (value is JsonObject withPriority)
            {
                Assert.InRange(withPriority["priority"]!.GetValue<int>(), 0, 9);
                Assert.InRange(withPriority["timeToLiveSecs"]!.GetValue<int>(), 1, storeTtl);
            }

            var route = Route().Match(text);
            Assert.True(route.Success, $"route {name}: '{text}' is not FROM … INTO …");
            var source = SourceOutput().Match(route.Groups["source"].Value);
            Assert.True(source.Success, $"route {name}: its source must name a module output");
            var (module, output) = (source.Groups["module"].Value, source.Groups["output"].Value);
            Assert.True(modules.ContainsKey(module), $"route {name}: no module {module}");
            if (module == "edgeml")
            {
                Assert.Contains(output, ModuleEndpoints.Outputs);
                routed.Add(output);
            }
            else if (module == "sensor")
            {
                Assert.Equal(SensorOutput, output);
            }

            var sink = route.Groups["sink"].Value.Trim();
            if (sink != "$upstream")
            {
                var input = SinkInput().Match(sink);
                Assert.True(input.Success, $"route {name}: sink '{sink}' is neither $upstream nor a module input");
                Assert.True(modules.ContainsKey(input.Groups["module"].Value), $"route {name}: no module {input.Groups["module"].Value}");
                if (input.Groups["module"].Value == "edgeml")
                {
                    Assert.Contains(input.Groups["input"].Value, ModuleEndpoints.Inputs);
                }
            }
        }

        Assert.Equal(ModuleEndpoints.Outputs.Order(StringComparer.Ordinal), routed.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public void EdgeMl_DesiredProperties_EveryOneAcceptedByTheAgent(string file)
    {
        var desired = Obj(Obj(Read(file), "modulesContent")["edgeml"]!, "properties.desired");

        var result = DesiredStateParser.Parse(desired);

        Assert.Empty(result.Issues);
        var model = Assert.Single(result.State.Models);
        Assert.Equal("ocr-cls", model.Key);
        Assert.Equal(desired["models"]!["ocr-cls"]!["providers"]!.AsArray().Select(p => p!.GetValue<string>()), model.Value.Providers);
        Assert.NotNull(result.State.Registry);
    }

    private static JsonObject Read(string file) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(ModelFixtures.RepositoryRoot, file)), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Disallow })!.AsObject();

    private static JsonObject EdgeAgent(string file) => Obj(Read(file)["modulesContent"]!["$edgeAgent"]!, "properties.desired");

    private static JsonObject Modules(string file) => Obj(EdgeAgent(file), "modules");

    private static JsonObject Obj(JsonNode node, string property) =>
        node[property] as JsonObject ?? throw new Xunit.Sdk.XunitException($"{node.GetPath()}.{property} is missing or not an object");

    [GeneratedRegex(@"^\$\{MODULES\.(?<folder>[a-z0-9\-]+)(\.(?<platform>[a-z0-9]+(\.[a-z0-9]+)?))?\}$")]
    private static partial Regex ModuleImage();

    /// <summary>A variable the tooling fills from .env: $NAME or ${NAME} in capitals (not ${MODULES.…}, not $edgeAgent).</summary>
    [GeneratedRegex(@"\$\{?(?<name>[A-Z][A-Z0-9_]*)(?![.\w])\}?")]
    private static partial Regex TemplateVariable();

    [GeneratedRegex(@"^FROM\s+(?<source>\S+)(\s+WHERE\s+.+?)?\s+INTO\s+(?<sink>.+)$")]
    private static partial Regex Route();

    [GeneratedRegex(@"^/messages/modules/(?<module>[A-Za-z0-9\-_]+)/outputs/(?<output>[A-Za-z0-9\-_]+)$")]
    private static partial Regex SourceOutput();

    [GeneratedRegex(@"^BrokeredEndpoint\(""/modules/(?<module>[A-Za-z0-9\-_]+)/inputs/(?<input>[A-Za-z0-9\-_]+)""\)$")]
    private static partial Regex SinkInput();
}
