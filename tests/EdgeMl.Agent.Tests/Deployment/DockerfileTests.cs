using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EdgeMl.Testing;

namespace EdgeMl.Agent.Tests.Deployment;

/// <summary>
/// What can be checked of the module images without a Docker engine: every platform of every module.json has its
/// Dockerfile; each builds from the repository root with the .NET SDK, publishes a project that exists, copies only
/// paths that exist, and runs as a non-root user with a health check.
/// </summary>
public sealed partial class DockerfileTests
{
    public static TheoryData<string, string> Platforms()
    {
        var data = new TheoryData<string, string>();
        foreach (var moduleJson in Directory.GetFiles(Path.Combine(ModelFixtures.RepositoryRoot, "modules"), "module.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var module = Path.GetFileName(Path.GetDirectoryName(moduleJson)!);
            foreach (var (platform, _) in JsonNode.Parse(File.ReadAllText(moduleJson))!["image"]!["tag"]!["platforms"]!.AsObject())
            {
                data.Add(module, platform);
            }
        }

        return data;
    }

    [Fact]
    public void ModuleJson_EdgeMl_HasTheFourPlatformsAndTheRootAsContext()
    {
        var json = ModuleJson("edgeml");

        Assert.Equal(["amd64", "amd64.gpu", "arm64v8", "arm64v8.jetson"], json["image"]!["tag"]!["platforms"]!.AsObject().Select(p => p.Key));
        Assert.Equal("${CONTAINER_REGISTRY_SERVER}/edgeml", json["image"]!["repository"]!.GetValue<string>());
        Assert.Equal(ModelFixtures.RepositoryRoot.TrimEnd('/'), Path.GetFullPath(Path.Combine(ModelFixtures.RepositoryRoot, "modules", "edgeml", json["image"]!["contextPath"]!.GetValue<string>())).TrimEnd('/'));
    }

    [Theory]
    [MemberData(nameof(Platforms))]
    public void Dockerfile_EveryPlatform_BuildsFromTheRootAndRunsAsNonRootWithAHealthCheck(string module, string platform)
    {
        var text = Dockerfile(module, platform);
        var lines = Instructions(text);

        Assert.Contains(lines, l => l.StartsWith("FROM ", StringComparison.Ordinal) && l.Contains("mcr.microsoft.com/dotnet/sdk:10.0", StringComparison.Ordinal));
        foreach (var copy in lines.Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from=", StringComparison.Ordinal)))
        {
            var parts = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var source in parts[1..^1])
            {
                Assert.True(File.Exists(Path.Combine(ModelFixtures.RepositoryRoot, source)) || Directory.Exists(Path.Combine(ModelFixtures.RepositoryRoot, source)),
                    $"{module}/{platform}: COPY {source} does not exist under the repository root");
            }
        }

        var publish = PublishLine().Match(text);
        Assert.True(publish.Success, $"{module}/{platform}: no dotnet publish of a project");
        Assert.True(File.Exists(Path.Combine(ModelFixtures.RepositoryRoot, publish.Groups["project"].Value)), $"{publish.Groups["project"].Value} does not exist");
        var user = lines.Last(l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.DoesNotMatch(@"^USER\s+(root|0)(:.*)?$", user);
        var last = lines.Last(l => l.StartsWith("FROM ", StringComparison.Ordinal));
        Assert.True(lines.IndexOf(user) > lines.IndexOf(last), "USER must be set in the final stage");
        if (module == "edgeml")
        {
            Assert.Contains(lines, l => l.StartsWith("HEALTHCHECK ", StringComparison.Ordinal) && l.Contains("/v2/health/live", StringComparison.Ordinal) && l.Contains("127.0.0.1/8000", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("EXPOSE ", StringComparison.Ordinal) && l.Split(' ').ToHashSet().IsSupersetOf(["8000", "8001", "9600"]));
            Assert.Equal(Entrypoint, lines.Last(l => l.StartsWith("ENTRYPOINT ", StringComparison.Ordinal)));
            Assert.Contains($"-r {Rid(platform)} {Build(platform)} -p:OnnxRuntimeFlavor=", text, StringComparison.Ordinal);
            Assert.DoesNotContain(lines, l => l.Contains("/usr/share/dotnet", StringComparison.Ordinal) || l.Contains("dotnet/aspnet", StringComparison.Ordinal));
        }
        else
        {
            Assert.Contains(lines, l => l.StartsWith("HEALTHCHECK ", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("amd64", "linux-x64", "cpu", "mcr.microsoft.com/dotnet/runtime-deps:10.0")]
    [InlineData("arm64v8", "linux-arm64", "cpu", "mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-arm64v8")]
    public void Dockerfile_EdgeMlGeneric_PublishesSelfContainedForItsArchitectureOnRuntimeDeps(string platform, string rid, string flavour, string runtimeImage)
    {
        var text = Dockerfile("edgeml", platform);
        var lines = Instructions(text);

        Assert.Contains($"-r {rid} {Build(platform)} -p:OnnxRuntimeFlavor={flavour}", text, StringComparison.Ordinal);
        Assert.Equal($"FROM {runtimeImage}", lines.Last(l => l.StartsWith("FROM ", StringComparison.Ordinal)));
    }

    [Fact]
    public void Dockerfile_Jetson_PublishesManagedOnlyAndRunsOnAnL4tImageWithOnnxRuntimeAndTensorRt()
    {
        var text = Dockerfile("edgeml", "arm64v8.jetson");
        var lines = Instructions(text);

        Assert.Contains($"-r linux-arm64 {SelfContainedComposite} -p:OnnxRuntimeFlavor=system", text, StringComparison.Ordinal);
        Assert.Contains("! ls /app | grep -q '^libonnxruntime'", text, StringComparison.Ordinal);
        Assert.Equal("FROM ${ORT_BASE}", lines.Last(l => l.StartsWith("FROM ", StringComparison.Ordinal)));
        // No default base: it must carry an ONNX Runtime at least as new as the managed package (its C API version).
        Assert.Contains("ARG ORT_BASE", lines);
        Assert.Contains("libonnxruntime.so.1.(3[2-9]|[4-9][0-9])", text, StringComparison.Ordinal);
        Assert.Contains("libonnxruntime.so", text, StringComparison.Ordinal);
        Assert.Contains("libnvinfer.so", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Dockerfile_AmdGpu_PublishesTheGpuFlavourOnCuda13WithCudnn9AndTensorRt()
    {
        var text = Dockerfile("edgeml", "amd64.gpu");
        var lines = Instructions(text);

        Assert.Contains($"-r linux-x64 {NativeAot} -p:OnnxRuntimeFlavor=gpu", text, StringComparison.Ordinal);
        Assert.Contains("/app/libonnxruntime_providers_cuda.so /app/libonnxruntime_providers_tensorrt.so", text, StringComparison.Ordinal);
        Assert.Matches(@"ARG CUDA_BASE=nvidia/cuda:13\.\d+\.\d+-cudnn-runtime-ubuntu24\.04", text);
        Assert.Equal("FROM ${CUDA_BASE}", lines.Last(l => l.StartsWith("FROM ", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.StartsWith("ARG TENSORRT_PACKAGES=", StringComparison.Ordinal) && l.Contains("libnvinfer10", StringComparison.Ordinal) && l.Contains("libnvonnxparsers10", StringComparison.Ordinal));
        Assert.Contains("libcudnn.so.9", text, StringComparison.Ordinal);
        Assert.Contains("libcublasLt.so.13", text, StringComparison.Ordinal);
        Assert.Equal(Entrypoint, lines.Last(l => l.StartsWith("ENTRYPOINT ", StringComparison.Ordinal)));
        Assert.Equal("CMD [\"run\"]", lines.Last());
    }

    [Theory]
    [InlineData("amd64")]
    [InlineData("amd64.gpu")]
    public void Dockerfile_NativeAot_InstallsTheNativeLinkerBeforeThePublish(string platform)
    {
        var lines = Instructions(Dockerfile("edgeml", platform));

        var toolchain = lines.FindIndex(l => l.StartsWith("RUN apt-get update", StringComparison.Ordinal) && l.Contains(" clang ", StringComparison.Ordinal) && l.Contains("zlib1g-dev", StringComparison.Ordinal));
        var publish = lines.FindIndex(l => l.StartsWith("RUN dotnet publish ", StringComparison.Ordinal));
        Assert.InRange(toolchain, 0, publish - 1);
        Assert.True(lines.FindIndex(l => l.StartsWith("FROM ", StringComparison.Ordinal) && !l.Contains(" AS build", StringComparison.Ordinal)) > publish, "the toolchain and the publish belong to the build stage");
    }

    [Fact]
    public void Flavour_System_TakesOnlyTheManagedOnnxRuntimePackage()
    {
        var runtime = File.ReadAllText(Path.Combine(ModelFixtures.RepositoryRoot, "runtime", "EdgeMl.Runtime.csproj"));

        Assert.Contains("""<PackageReference Include="Microsoft.ML.OnnxRuntime.Managed" Condition="'$(OnnxRuntimeFlavor)' == 'system'" />""", runtime, StringComparison.Ordinal);
        Assert.Contains("""<PackageReference Include="Microsoft.ML.OnnxRuntime" Condition="'$(OnnxRuntimeFlavor)' == 'cpu'" />""", runtime, StringComparison.Ordinal);
    }

    [Fact]
    public void DockerIgnore_LeavesHostBuildOutputOutOfTheContext()
    {
        var ignore = File.ReadAllLines(Path.Combine(ModelFixtures.RepositoryRoot, ".dockerignore"));

        Assert.Contains("**/bin/", ignore);
        Assert.Contains("**/obj/", ignore);
    }

    /// <summary>The arm64 images carry their own runtime, compiled with the agent into one composite ReadyToRun image.</summary>
    private const string SelfContainedComposite = "--self-contained true -p:PublishReadyToRunComposite=true";

    /// <summary>The x64 images are one Native AOT executable.</summary>
    private const string NativeAot = "-p:PublishAot=true";

    private static string Build(string platform) => Rid(platform) == "linux-x64" ? NativeAot : SelfContainedComposite;

    private const string Entrypoint = "ENTRYPOINT [\"/app/edgeml\"]";

    private static string Rid(string platform) => platform.StartsWith("arm64", StringComparison.Ordinal) ? "linux-arm64" : "linux-x64";

    private static JsonNode ModuleJson(string module) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(ModelFixtures.RepositoryRoot, "modules", module, "module.json")))!;

    private static string Dockerfile(string module, string platform)
    {
        var relative = ModuleJson(module)["image"]!["tag"]!["platforms"]![platform]!.GetValue<string>();
        var path = Path.Combine(ModelFixtures.RepositoryRoot, "modules", module, relative);
        Assert.True(File.Exists(path), $"{module}/{platform}: {relative} is missing");
        return File.ReadAllText(path);
    }

    /// <summary>Instructions with continuation lines joined and comments dropped.</summary>
    private static List<string> Instructions(string dockerfile) =>
        dockerfile.Replace("\\\n", " ", StringComparison.Ordinal).Split('\n')
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();

    [GeneratedRegex(@"dotnet publish (?<project>\S+\.csproj)")]
    private static partial Regex PublishLine();
}
