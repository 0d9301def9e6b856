using System.CommandLine;

namespace EdgeMl.Agent.Cli;

/// <summary>What every verb that talks to a running agent shares: the connection, and errors printed as <c>edgeml VERB: …</c> with their exit code.</summary>
internal static class LocalApiVerb
{
    public static async Task<int> RunAsync(string verb, ParseResult parse, Option<string> url, Option<string?> token, Func<LocalApiClient, TextWriter, Task<int>> run)
    {
        var output = parse.InvocationConfiguration.Output;
        var error = parse.InvocationConfiguration.Error;
        try
        {
            using var client = new LocalApiClient(AgentConnection.FromParse(parse, url, token));
            return await run(client, output);
        }
        catch (AgentCallException e)
        {
            await error.WriteLineAsync($"edgeml {verb}: {e.Message}");
            return e.ExitCode;
        }
        catch (Exception e) when (ExitCodes.For(e) is { } code)
        {
            await error.WriteLineAsync($"edgeml {verb}: {e.Message}");
            return code;
        }
    }
}
