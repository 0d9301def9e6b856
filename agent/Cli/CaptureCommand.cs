using System.CommandLine;
using EdgeMl.Agent.Capture;
using EdgeMl.Agent.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeMl.Agent.Cli;

/// <summary><c>edgeml capture export</c>: captured records as Parquet, for a field engineer with a laptop and no uplink.</summary>
internal static class CaptureCommand
{
    public static Command Create() => new("capture", "Captured inputs and predictions on this device") { Export() };

    private static Command Export()
    {
        var model = new Option<string?>("--model") { Description = "The model whose records to export; all models when left out" };
        var output = new Option<FileInfo>("--out") { Description = "The Parquet file to write", Required = true };
        var data = new Option<DirectoryInfo>("--data") { Description = "The agent's data folder", DefaultValueFactory = _ => new DirectoryInfo(new AgentOptions().DataDirectory) };
        var device = new Option<string>("--device") { Description = "Device id written into each row", DefaultValueFactory = _ => new AgentOptions().DeviceId };
        var command = new Command("export", "Write the records still in the capture store (they stay there) to a Parquet file that pandas and Spark read")
        {
            model, output, data, device,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = Path.Combine(parse.GetValue(data)!.FullName, new CaptureStoreOptions().Path);
            if (!File.Exists(path))
            {
                await Console.Error.WriteLineAsync($"edgeml capture export: there is no capture store at {path} (give the agent's data folder with --data)");
                return ExitCodes.Usage;
            }

            try
            {
                await using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
                var metrics = ActivatorUtilities.CreateInstance<CaptureMetrics>(services);
                // Read-only: a field engineer's export must never change, move or replace what the agent keeps.
                using var store = CaptureStore.OpenReadOnly(path, metrics, TimeProvider.System, NullLogger.Instance);
                var file = parse.GetValue(output)!;
                var count = await CaptureExport.ExportAsync(store, parse.GetValue(model), file.FullName, parse.GetValue(device)!, NullLogger.Instance, cancellationToken);
                await Console.Out.WriteLineAsync($"exported {count} records{(parse.GetValue(model) is { } m ? $" of {m}" : "")} to {file.FullName}");
                return ExitCodes.Ok;
            }
            catch (CaptureStoreDamagedException e)
            {
                await Console.Error.WriteLineAsync(
                    $"edgeml capture export: {e.Message}; it was left as it is (the agent moves a damaged store aside when it next starts), and nothing was exported");
                return ExitCodes.Damaged;
            }
            catch (Exception e) when (ExitCodes.For(e) is { } code)
            {
                await Console.Error.WriteLineAsync($"edgeml capture export: {e.Message}");
                return code;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync($"edgeml capture export: {ExitCodes.StoppedMessage}");
                return ExitCodes.Stopped;
            }
        });
        return command;
    }
}
