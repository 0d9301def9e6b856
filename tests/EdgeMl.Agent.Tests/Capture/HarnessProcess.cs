using System.Diagnostics;
using EdgeMl.Testing;

namespace EdgeMl.Agent.Tests.Capture;

/// <summary>The capture harness (tests/EdgeMl.CaptureHarness) as a child process the kill tests SIGKILL.</summary>
internal sealed class HarnessProcess : IDisposable
{
    private readonly Process _process;

    private HarnessProcess(Process process) => _process = process;

    /// <summary>Kill iterations per test: <c>EDGEML_KILL_ITERATIONS</c>, or the given default.</summary>
    public static int Iterations(int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable("EDGEML_KILL_ITERATIONS"), out var n) && n > 0 ? n : fallback;

    public static HarnessProcess Start(params string[] args)
    {
        // The same output folder as this test assembly's within its project (bin/{Configuration}/{tfm}/, or
        // bin/{flavour}/{Configuration}/{tfm}/ for an ONNX Runtime flavour other than the default).
        var ownProject = Path.Combine(ModelFixtures.RepositoryRoot, "tests", "EdgeMl.Agent.Tests");
        var output = Path.GetRelativePath(ownProject, AppContext.BaseDirectory);
        var dll = Path.Combine(ModelFixtures.RepositoryRoot, "tests", "EdgeMl.CaptureHarness", output, "EdgeMl.CaptureHarness.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException("Build tests/EdgeMl.CaptureHarness first.", dll);
        }

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        return new HarnessProcess(process);
    }

    /// <summary>The next line of output, or null when the child has ended.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        return await _process.StandardOutput.ReadLineAsync(cts.Token);
    }

    /// <summary>SIGKILL, and wait until the process is gone.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
