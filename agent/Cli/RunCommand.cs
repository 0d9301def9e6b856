using System.CommandLine;
using EdgeMl.Agent.Hosting;
using Microsoft.AspNetCore.Builder;
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
                await app.RunAsync(cancellationToken);
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
            catch (IOException e)
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

    /// <summary>Every options failure, whether the host threw one or several together.</summary>
    private static List<string> Invalid(Exception e) => e switch
    {
        OptionsValidationException one => [.. one.Failures],
        AggregateException many => [.. many.InnerExceptions.SelectMany(Invalid)],
        _ => [],
    };
}
