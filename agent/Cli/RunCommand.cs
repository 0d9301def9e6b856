using System.CommandLine;
using System.CommandLine.Invocation;
using EdgeMl.Agent.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Cli;

/// <summary><c>edgeml run</c>: the agent. Any further <c>--Section:Key=value</c> arguments are configuration.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config") { Description = "A JSON settings file laid over appsettings.json" };
        var command = new Command("run", "Run the agent: reconcile desired models, serve the Open Inference Protocol, report health")
        {
            config,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            var file = parse.GetValue(config);
            if (file is { Exists: false })
            {
                await Console.Error.WriteLineAsync($"edgeml run: the settings file {file.FullName} does not exist");
                return ExitCodes.Usage;
            }

            WebApplication? app = null;
            try
            {
                app = AgentHost.Build([.. parse.UnmatchedTokens], file?.FullName);

                // Every settings section at once, before any service reads one and stops at the first problem.
                if (AgentHost.Validate(app.Services) is { Count: > 0 } problems)
                {
                    throw new OptionsValidationException(AgentOptions.Section, typeof(AgentOptions), problems);
                }
                await StartAsync(app, cancellationToken);
                await app.WaitForShutdownAsync(cancellationToken);
                return ExitCodes.Ok;
            }
            catch (Exception e) when (Invalid(e) is { Count: > 0 } failures)
            {
                await Console.Error.WriteLineAsync("edgeml run: the configuration is not valid:");
                foreach (var failure in failures)
                {
                    await Console.Error.WriteLineAsync($"  - {failure}");
                }

                return ExitCodes.Usage;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A port in use, a data folder that cannot be written: the host logged the details already.
                await Console.Error.WriteLineAsync($"edgeml run: the agent could not start: {e.Message}");
                return ExitCodes.StartFailed;
            }
            finally
            {
                if (app is not null)
                {
                    await app.DisposeAsync();
                }
            }
        });
        return command;
    }

    /// <summary>
    /// Starts the host; when a service fails to start (a port in use), stops what did start before the failure goes
    /// on: the host by itself would only dispose, leaving background work running while the process exits, and a
    /// model load then inside ONNX Runtime aborted the process (exit 134 instead of 6).
    /// </summary>
    private static async Task StartAsync(WebApplication app, CancellationToken cancellationToken)
    {
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            try
            {
                // Bounded by EdgeMl:ShutdownTimeout; the drain has nothing to wait for, since nothing was served.
                await app.StopAsync(CancellationToken.None);
            }
            catch (AggregateException stop)
            {
                // A service that cannot stop after a start that failed: the start's failure is what the caller is told.
                Log.StopAfterFailedStartFailed(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("EdgeMl.Agent"), stop);
            }

            throw;
        }
    }

    /// <summary>The settings <c>edgeml run --help</c> lists after its options: the first column of docs/agent.md's table.</summary>
    private static readonly (string Setting, string What)[] Settings =
    [
        ("EdgeMl:DataDirectory", "models, capture database, desired.json (default .edgeml)"),
        ("EdgeMl:DeviceId", "MQTT topics, blob paths, telemetry (default IOTEDGE_DEVICEID, else the host name)"),
        ("EdgeMl:TrustedKeyFiles:N", "PEM public keys whose signatures are trusted"),
        ("EdgeMl:AllowUnsigned", "accept unsigned packages; development only (default false)"),
        ("EdgeMl:Http:Urls", "the API and the diagnostics page (default http://127.0.0.1:8000)"),
        ("EdgeMl:Http:Token", "bearer token for all but /v2/health; 16+ characters, required beyond loopback"),
        ("EdgeMl:Http:AllowedHosts", "host names the API answers to besides localhost and IP addresses, ;-separated"),
        ("EdgeMl:Http:MaxRequestBodyBytes", "larger request bodies get 413 (default 64 MiB)"),
        ("EdgeMl:Grpc:Urls", "the gRPC service, HTTP/2 without TLS; empty turns it off (default http://127.0.0.1:8001)"),
        ("EdgeMl:Sequences:MaxLive", "stateful models' sequences kept at once (default 1024); IdleTimeout: ended after (default 00:05:00)"),
        ("EdgeMl:MetricsUrls", "Prometheus /metrics (default http://127.0.0.1:9600)"),
        ("EdgeMl:PullTimeout", "a pull's limit (default 00:30:00); RetryMinDelay, RetryMaxDelay: back-off between failed pulls"),
        ("EdgeMl:StartupDesiredTimeout", "with a hub: how long readiness waits for the twin before the persisted desired state counts (default 00:00:30)"),
        ("EdgeMl:DrainWindow", "after SIGTERM: requests still served while readiness says 503 (default 00:00:05); ShutdownTimeout: the whole stop (00:00:25)"),
        ("EdgeMl:Download:*", "stall rate and window, retries"),
        ("EdgeMl:IoTHub:*", "ConnectionString, …; as a module the IoT Edge environment is used"),
        ("EdgeMl:Mqtt:*", "Host, Port, Tls, …; without Host an embedded broker on 127.0.0.1:Port (default 1883)"),
        ("EdgeMl:Capture:*", "what predictions are captured, and the capture store"),
        ("EdgeMl:Drift:*", "drift window, thresholds"),
        ("EdgeMl:Upload:*", "capture upload to blob storage (ConnectionString or ContainerUri)"),
        ("EdgeMl:Gpio:*", "GPIO triggers and status lights"),
        ("EdgeMl:Desired", "the embedded desired state, in the twin's shape: registry, models:NAME:version, …"),
        ("EdgeMl:Otlp:Endpoint", "push metrics and traces to an OpenTelemetry collector (default off)"),
        ("EdgeMl:Otlp:Protocol", "grpc or http/protobuf (default grpc); Headers: name=value,… (a secret); MetricsInterval"),
        ("EdgeMl:Logging:Format", "json: one redacted JSON object a line on the console (default text)"),
    ];

    /// <summary>Written after the options in <c>edgeml run --help</c>.</summary>
    private static void WriteSettingsHelp(TextWriter output)
    {
        output.WriteLine("Settings (later wins: appsettings.json beside edgeml, --config FILE, the environment as EdgeMl__Http__Urls=…,");
        output.WriteLine("the command line as --EdgeMl:Http:Urls=…; every one in docs/agent.md):");
        var width = Settings.Max(s => s.Setting.Length);
        foreach (var (setting, what) in Settings)
        {
            output.WriteLine($"  {setting.PadRight(width)}  {what}");
        }

        output.WriteLine();
        output.WriteLine("Exit codes: 0 stopped, 2 invalid settings (every one listed), 6 could not start (a port in use, a folder it cannot write).");
    }

    /// <summary>The standard help, then the settings when the command is <c>run</c>.</summary>
    internal sealed class HelpWithSettings(SynchronousCommandLineAction help, Command run) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            ArgumentNullException.ThrowIfNull(parseResult);
            var code = help.Invoke(parseResult);
            if (parseResult.CommandResult.Command == run)
            {
                WriteSettingsHelp(parseResult.InvocationConfiguration.Output);
            }

            return code;
        }
    }

    /// <summary>Every options failure, whether the host threw one or several together.</summary>
    private static List<string> Invalid(Exception e) => e switch
    {
        OptionsValidationException one => [.. one.Failures],
        AggregateException many => [.. many.InnerExceptions.SelectMany(Invalid)],
        _ => [],
    };
}
