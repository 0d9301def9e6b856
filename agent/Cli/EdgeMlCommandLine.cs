using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace EdgeMl.Agent.Cli;

/// <summary>The <c>edgeml</c> command tree; each verb lives in its own type.</summary>
internal static class EdgeMlCommandLine
{
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
