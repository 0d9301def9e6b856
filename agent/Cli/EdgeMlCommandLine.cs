using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace EdgeMl.Agent.Cli;

/// <summary>The <c>edgeml</c> command tree; each verb lives in its own type.</summary>
internal static class EdgeMlCommandLine
{
    public static Task<int> InvokeAsync(string[] args)
    {
        var parse = Create().Parse(args);
        return parse.InvokeAsync(Invocation(parse));
    }

    public static RootCommand Create()
    {
        var run = RunCommand.Create();
        var root = new RootCommand("EdgeMl edge inference agent")
        {
            run,
            PredictCommand.Create(),
            KeysCommand.Create(),
            ModelCommand.Create(),
            CaptureCommand.Create(),
            StatusCommand.Create(),
            ModelsCommand.Create(),
            InferCommand.Create(),
            SupportBundleCommand.Create(),
        };

        // `edgeml run --help` lists the settings too: they are what run takes beyond --config.
        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new RunCommand.HelpWithSettings((SynchronousCommandLineAction)help.Action!, run);
        return root;
    }

    /// <summary>
    /// Ctrl+C and SIGTERM cancel a verb, and a verb that has not finished half a second later is ended: every verb's
    /// work is crash-safe (atomic renames, resumable downloads), so nothing is gained by waiting. The agent
    /// (<c>run</c>) leaves SIGTERM and Ctrl+C to the host, whose drain outlasts any fixed timeout here.
    /// </summary>
    public static InvocationConfiguration Invocation(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return parse.CommandResult.Command.Name == "run" ? new() { ProcessTerminationTimeout = null } : new() { ProcessTerminationTimeout = TimeSpan.FromMilliseconds(500) };
    }
}
