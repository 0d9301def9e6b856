using System.Device.Gpio;
using System.Device.Gpio.Drivers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace EdgeMl.HilTests;

/// <summary>
/// The module image's own build (<c>EDGEML_HIL_AGENT</c>: hil-tests/run.sh publishes it with scripts/publish-image.sh,
/// Native AOT on x64, composite ReadyToRun on arm64) with a GPIO trigger on the wired input pin: each edge this test
/// drives on the output pin is counted as accepted by the agent. System.Device.Gpio warns under trimming, so this is
/// the check that the trimmed executable still reads the pins.
/// </summary>
[Trait("Category", "Hardware")]
public sealed partial class GpioImageBuildTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [GpioImageBuildFact]
    public async Task Trigger_EdgesOnTheWire_CountedByThePublishedAgent()
    {
        var data = Directory.CreateTempSubdirectory("edgeml-hil-gpio-").FullName;
        var (http, metrics) = (FreePort(), FreePort());
        var info = new ProcessStartInfo(Hardware.PublishedAgent!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])["run", $"--EdgeMl:DataDirectory={data}", $"--EdgeMl:Http:Urls=http://127.0.0.1:{http}",
            $"--EdgeMl:MetricsUrls=http://127.0.0.1:{metrics}", "--EdgeMl:Grpc:Urls=http://127.0.0.1:0", $"--EdgeMl:Mqtt:EmbeddedPort={FreePort()}",
            $"--EdgeMl:Gpio:Chip={Hardware.GpioChip}", $"--EdgeMl:Gpio:Triggers:0:Pin={Hardware.GpioIn}",
            "--EdgeMl:Gpio:Triggers:0:Action=Event", "--EdgeMl:Gpio:Triggers:0:Edge=Rising", "--EdgeMl:Gpio:Triggers:0:Debounce=00:00:00.010"])
        {
            info.ArgumentList.Add(arg);
        }

        var output = new StringBuilder();
        using var agent = Process.Start(info)!;
        agent.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        agent.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        agent.BeginOutputReadLine();
        agent.BeginErrorReadLine();
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metrics}") };
        using var controller = new GpioController(new LibGpiodDriver(Hardware.GpioChip));
        try
        {
            await UntilAsync(async () => (await client.GetAsync("/metrics")).IsSuccessStatusCode, agent, output, "the agent's /metrics");
            var pin = Hardware.GpioOut!.Value;
            controller.OpenPin(pin, PinMode.Output, PinValue.Low);
            await Task.Delay(500);
            const int Edges = 3;
            for (var i = 0; i < Edges; i++)
            {
                controller.Write(pin, PinValue.High);
                await Task.Delay(100);
                controller.Write(pin, PinValue.Low);
                await Task.Delay(100);
            }

            await UntilAsync(async () => Accepted(await client.GetStringAsync("/metrics")) >= Edges, agent, output, $"{Edges} accepted edges on pin {Hardware.GpioIn}");
            Console.WriteLine($"hil-result: GPIO trigger in the image's build ({Path.GetFileName(Path.GetDirectoryName(Hardware.PublishedAgent))}) | {Edges} rising edges counted as accepted");
        }
        finally
        {
            agent.Kill(entireProcessTree: true);
            await agent.WaitForExitAsync();
            Directory.Delete(data, recursive: true);
        }
    }

    private static long Accepted(string scrape) =>
        AcceptedLine().Matches(scrape).Where(m => m.Groups["labels"].Value.Contains($"pin=\"{Hardware.GpioIn}\"", StringComparison.Ordinal))
            .Sum(m => long.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    private static async Task UntilAsync(Func<Task<bool>> condition, Process agent, StringBuilder output, string what)
    {
        var guard = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (agent.HasExited || guard.Elapsed > Guard)
            {
                lock (output)
                {
                    Assert.Fail($"waited for {what}; the agent {(agent.HasExited ? $"exited with {agent.ExitCode}" : "is running")}:\n{output}");
                }
            }

            await Task.Delay(200);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"^edgeml_gpio_edges(?:_total)?\{(?<labels>[^}]*outcome=""accepted""[^}]*)\} (?<value>\d+)", RegexOptions.Multiline)]
    private static partial Regex AcceptedLine();
}

/// <summary>Runs with a wired GPIO pin pair and a published agent named by <c>EDGEML_HIL_AGENT</c>.</summary>
internal sealed class GpioImageBuildFactAttribute : FactAttribute
{
    public GpioImageBuildFactAttribute() => Skip = Hardware.WhyNoGpioLoopback()
        ?? (Hardware.PublishedAgent is { } agent && File.Exists(agent) ? null : $"no published agent: set {Hardware.PublishedAgentVariable} (hil-tests/run.sh does)");
}
