using System.Diagnostics;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.Deployment;

/// <summary>
/// <c>scripts/publish-image.sh DOCKERFILE OUT</c>, which CI uses to publish the x64 images' agent: it runs the
/// Dockerfile's own publish instruction, continuation lines included, with the image's /app moved to OUT. Here on
/// small Dockerfiles whose instruction is cheap; the real ones are published by scripts/test.sh.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class PublishImageScriptTests : IDisposable
{
    private readonly TestPackages.TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Publish_TheDockerfilesInstruction_RunsWithAppMovedToOut()
    {
        var dockerfile = Dockerfile("""
            FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
            RUN echo not this one > /app/other
            RUN dotnet publish --help > /app/help.txt \
             && ls /app/help.txt > /app/listed.txt
            RUN echo nor this > /app/after
            FROM mcr.microsoft.com/dotnet/runtime-deps:10.0
            """);
        var output = _temp.Sub("out");

        var (code, text) = await RunAsync(dockerfile, output);

        Assert.True(code == 0, text);
        Assert.Contains("dotnet publish", await File.ReadAllTextAsync(Path.Combine(output, "help.txt")), StringComparison.Ordinal);
        Assert.Equal(Path.Combine(output, "help.txt"), (await File.ReadAllTextAsync(Path.Combine(output, "listed.txt"))).Trim());
        Assert.Equal(["help.txt", "listed.txt"], Directory.GetFiles(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Publish_FailingInstruction_Exits1()
    {
        var dockerfile = Dockerfile("RUN dotnet publish no/such/project.csproj -o /app\n");

        var (code, text) = await RunAsync(dockerfile, _temp.Sub("out"));

        Assert.True(code == 1, text);
    }

    [Fact]
    public async Task Publish_NoPublishInstructionOrNoArguments_Exits2SayingWhy()
    {
        var (code, text) = await RunAsync(Dockerfile("FROM scratch\nRUN echo hello\n"), _temp.Sub("out"));
        Assert.Equal(2, code);
        Assert.Contains("has no 'RUN dotnet publish' instruction", text, StringComparison.Ordinal);

        (code, text) = await RunAsync();
        Assert.Equal(2, code);
        Assert.Contains("usage: scripts/publish-image.sh DOCKERFILE OUT", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publish_OutIsHome_Exits2AndEmptiesNothing()
    {
        // HOME is a temp folder here, so a broken guard would only empty that.
        var home = _temp.Sub("home");
        Directory.CreateDirectory(home);
        var kept = Path.Combine(home, "kept.txt");
        await File.WriteAllTextAsync(kept, "mine");

        var (code, text) = await RunAsync(new Dictionary<string, string> { ["HOME"] = home }, Dockerfile("RUN dotnet publish --help\n"), home);

        Assert.Equal(2, code);
        Assert.Contains($"will not empty {home}", text, StringComparison.Ordinal);
        Assert.True(File.Exists(kept));
    }

    private string Dockerfile(string text)
    {
        var path = _temp.Sub("Dockerfile");
        File.WriteAllText(path, text);
        return path;
    }

    private static Task<(int Code, string Text)> RunAsync(params string[] args) => RunAsync(new Dictionary<string, string>(), args);

    private static async Task<(int Code, string Text)> RunAsync(Dictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo(Path.Combine(ModelFixtures.RepositoryRoot, "scripts", "publish-image.sh"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(guard.Token);
        return (process.ExitCode, await output + await error);
    }
}
