using System.Diagnostics;

namespace EdgeMl.Testing.Distribution;

/// <summary>The real <c>edgeml</c> executable (edgeml.dll beside the test assembly) run as a child process.</summary>
public static class EdgeMlProcess
{
    public static string AgentDll => Path.Combine(AppContext.BaseDirectory, "edgeml.dll");

    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(AgentDll);
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
