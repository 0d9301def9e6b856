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
}
