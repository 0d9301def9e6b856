using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using EdgeMl.Agent.Cli;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Testing;

namespace EdgeMl.Agent.Tests.Grpc;

/// <summary><c>edgeml infer --grpc</c> and <c>--random</c>, against a real agent's two ports and the classifier.</summary>
public sealed class InferGrpcCommandTests : IAsyncLifetime
{
    private const string Token = "a-token-of-16-chars-or-more";
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("edgeml-grpc-cli-");
    private GrpcApiHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await GrpcApiHost.StartAsync(o => o.Token = Token);
        var activation = await _host.Engine.ActivateAsync(new ModelDefinition
        {
            Name = "ocr-cls",
            Version = 1,
            ModelPath = ModelFixtures.Classifier,
            Session = new ModelSessionOptions { IntraOpThreads = 1 },
            Providers = ProviderChainOptions.CpuOnly,
            WarmUp = new WarmUpOptions { Shapes = { ["x"] = ModelFixtures.ClassifierShape } },
        });
        Assert.True(activation.Succeeded, activation.Failure?.Reason);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _folder.Delete(recursive: true);
    }

    [Fact]
    public async Task Grpc_JsonRequestFile_PrintsWhatHttpPrints()
    {
        var file = await JsonRequest(seed: 5);

        var (code, grpc, error) = await Run("infer", "--grpc", "--url", _host.GrpcAddress.ToString(), "--model", "ocr-cls", "--input", file);
        var (_, http, _) = await Run("infer", "--url", _host.Http.BaseAddress!.ToString(), "--model", "ocr-cls", "--input", file);

        Assert.True(code == ExitCodes.Ok, error);
        Assert.Equal(http, grpc);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Random_ShapedFromTheModelsMetadata_GivesAPrediction(bool grpc)
    {
        string[] args = grpc
            ? ["infer", "--grpc", "--url", _host.GrpcAddress.ToString(), "--model", "ocr-cls", "--random"]
            : ["infer", "--url", _host.Http.BaseAddress!.ToString(), "--model", "ocr-cls", "--random"];

        var (code, output, error) = await Run(args);

        Assert.True(code == ExitCodes.Ok, error);
        using var json = JsonDocument.Parse(output);
        var probabilities = json.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(2, probabilities.Length);
        Assert.Equal(1f, probabilities.Sum(), 3);
    }

    [Fact]
    public async Task Grpc_Errors_ExitAsOverHttp()
    {
        var file = await JsonRequest(seed: 1);
        var (notFound, _, notFoundError) = await Run("infer", "--grpc", "--url", _host.GrpcAddress.ToString(), "--model", "nope", "--input", file);
        Assert.Equal(ExitCodes.NotFound, notFound);
        Assert.Contains("nope", notFoundError, StringComparison.Ordinal);

        var (noToken, _, noTokenError) = await Run(["infer", "--grpc", "--url", _host.GrpcAddress.ToString(), "--model", "ocr-cls", "--random"], token: null);
        Assert.Equal(ExitCodes.Unauthorized, noToken);
        Assert.Contains("needs its token", noTokenError, StringComparison.Ordinal);

        var (unreachable, _, unreachableError) = await Run("infer", "--grpc", "--url", $"http://127.0.0.1:{ClosedPort()}", "--model", "ocr-cls", "--random");
        Assert.Equal(ExitCodes.AgentUnreachable, unreachable);
        Assert.Contains("no EdgeMl gRPC service answered", unreachableError, StringComparison.Ordinal);

        var (neither, _, neitherError) = await Run("infer", "--grpc", "--url", _host.GrpcAddress.ToString(), "--model", "ocr-cls");
        Assert.Equal(ExitCodes.Usage, neither);
        Assert.Contains("give --input FILE (a request or a raw tensor) or --random", neitherError, StringComparison.Ordinal);
    }

    private static Task<(int Code, string Output, string Error)> Run(params string[] args) => Run(args, Token);

    private static async Task<(int Code, string Output, string Error)> Run(string[] args, string? token)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        string[] all = token is null ? args : [.. args, "--token", token];
        var code = await EdgeMlCommandLine.Create().Parse(all).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    private async Task<string> JsonRequest(int seed)
    {
        var file = Path.Combine(_folder.FullName, $"request-{seed}.json");
        var values = string.Join(",", ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, seed).Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
        await File.WriteAllTextAsync(file, $$"""{"inputs":[{"name":"x","datatype":"FP32","shape":[1,3,48,192],"data":[{{values}}]}]}""");
        return file;
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
