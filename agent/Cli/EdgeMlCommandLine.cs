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

        // `run` leaves SIGTERM and Ctrl+C to the host, whose stop drains requests for longer than the 2 s after which
        // System.CommandLine would end the process with 143 mid-drain.
        var run = parse.CommandResult.Command.Name == "run";
        return parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = run ? null : TimeSpan.FromSeconds(2) });
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
}
