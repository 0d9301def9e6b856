using System.Diagnostics;
using System.Globalization;
using EdgeMl.Testing;

namespace EdgeMl.Benchmarks;

/// <summary>
/// The agent measured from a Python client as tritonclient users run one (<c>python/oip_latency.py</c>): gRPC through
/// grpcio, which is gRPC C-core and follows the server's frame size, and HTTP binary through http.client. Python's own
/// cost is in both paths alike, so the comparison is gRPC against HTTP within that client.
/// </summary>
internal static class PythonLatencyClient
{
    public static async Task RunAsync(string python, RemoteAgent agent, string model, string input, string output, long[] shape, int rounds, int perRound)
    {
        var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in (string[])[
            Path.Combine(ModelFixtures.RepositoryRoot, "tests", "EdgeMl.Benchmarks", "python", "oip_latency.py"),
            "--proto", Path.Combine(ModelFixtures.RepositoryRoot, "agent", "Grpc", "grpc_predict_v2.proto"),
            "--http-port", agent.Http.BaseAddress!.Port.ToString(CultureInfo.InvariantCulture),
            "--grpc-port", agent.GrpcPort.ToString(CultureInfo.InvariantCulture),
            "--model", model, "--input", input, "--output", output, "--shape", string.Join(',', shape),
            "--rounds", rounds.ToString(CultureInfo.InvariantCulture), "--per-round", perRound.ToString(CultureInfo.InvariantCulture)])
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{python} did not start");
        Console.Write(await process.StandardOutput.ReadToEndAsync());
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"the Python client exited with {process.ExitCode}");
        }
    }
}
