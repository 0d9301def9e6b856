using System.Diagnostics;

namespace EdgeMl.Testing.Distribution;

/// <summary>
/// The real <c>edgeml</c> executable run as a child process: edgeml.dll beside the test assembly, or, with
/// <c>EDGEML_TEST_EXECUTABLE</c> set, that executable (scripts/test.sh runs the process tests again on the x64 image's
/// Native AOT build, published as its Dockerfile publishes it).
/// </summary>
public static class EdgeMlProcess
{
    public static string AgentDll => Path.Combine(AppContext.BaseDirectory, "edgeml.dll");

    /// <summary>The published executable the process tests run instead of edgeml.dll, if one is named.</summary>
    public static string? PublishedExecutable =>
        Environment.GetEnvironmentVariable("EDGEML_TEST_EXECUTABLE") is { Length: > 0 } path ? Path.GetFullPath(path) : null;

    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var published = PublishedExecutable;
        var info = new ProcessStartInfo(published ?? (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (published is null)
        {
            info.ArgumentList.Add(AgentDll);
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return info;
    }

    /// <summary>
    /// <paramref name="info"/> started as a terminal's shell starts a command in the foreground: with Ctrl+C's signal
    /// (SIGINT) at its default. A suite run as a background job of a non-interactive shell (<c>.ci/run &amp;</c>) has
    /// SIGINT ignored, every child inherits that, and .NET leaves an ignored SIGINT ignored, so a test of Ctrl+C would
    /// test the way it was launched. GNU <c>env</c> resets it and execs the command: same process id, same arguments.
    /// </summary>
    public static ProcessStartInfo WithInterruptAtDefault(ProcessStartInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        string[] args = [info.FileName, .. info.ArgumentList];
        info.FileName = "env";
        info.ArgumentList.Clear();
        info.ArgumentList.Add("--default-signal=INT");
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return info;
    }

    /// <summary>Runs to the end; <paramref name="guard"/> only protects the suite from a hung child.</summary>
    public static async Task<(int Code, string Output, string Error)> RunAsync(IEnumerable<string> args, TimeSpan guard)
    {
        using var process = Process.Start(StartInfo(args)) ?? throw new InvalidOperationException("edgeml did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(guard);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"edgeml {string.Join(' ', args)} did not finish within {guard}");
        }

        return (process.ExitCode, await output, await error);
    }
}
