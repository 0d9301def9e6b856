using System.CommandLine;

namespace EdgeMl.Agent.Cli;

/// <summary>The <c>edgeml</c> command tree; each verb lives in its own type.</summary>
internal static class EdgeMlCommandLine
{
    public static RootCommand Create()
    {
        return new RootCommand("EdgeMl edge inference agent")
        {
            RunCommand.Create(),
            PredictCommand.Create(),
            KeysCommand.Create(),
            ModelCommand.Create(),
            CaptureCommand.Create(),
            StatusCommand.Create(),
            ModelsCommand.Create(),
            InferCommand.Create(),
            SupportBundleCommand.Create(),
        };
    }

    /// <summary>
    /// Ctrl+C and SIGTERM cancel a verb, and a verb that has not finished half a second later is ended: every verb's
    /// work is crash-safe (atomic renames, resumable downloads), so nothing is gained by waiting. The agent
    /// (<c>run</c>) keeps the library's longer default for its graceful shutdown.
    /// </summary>
    public static InvocationConfiguration Invocation(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return parse.CommandResult.Command.Name == "run" ? new() : new() { ProcessTerminationTimeout = TimeSpan.FromMilliseconds(500) };
    }
}
