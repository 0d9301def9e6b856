using Microsoft.Extensions.Logging;

namespace EdgeMl.Runtime.Packages;

internal static partial class Log
{
    [LoggerMessage(1500, LogLevel.Information, "Installed {Name} v{Version} at {Folder}")]
    public static partial void Installed(ILogger logger, string name, long version, string folder);

    [LoggerMessage(1501, LogLevel.Information, "Activated {Name} v{Version} (before: {Previous})")]
    public static partial void Activated(ILogger logger, string name, long version, string previous);

    [LoggerMessage(1502, LogLevel.Warning, "Candidate {Name} v{Version} refused at {Stage}: {Reason}; v{Active} stays active")]
    public static partial void CandidateRejected(ILogger logger, string name, long version, string stage, string reason, long? active);

    [LoggerMessage(1503, LogLevel.Warning, "Rolled {Name} back from v{From} to v{To}")]
    public static partial void RolledBack(ILogger logger, string name, long from, long to);

    [LoggerMessage(1504, LogLevel.Information, "Removed {Name} v{Version} (retention)")]
    public static partial void Removed(ILogger logger, string name, long version);

    [LoggerMessage(1505, LogLevel.Information, "Removed debris {Path} left by an interrupted run")]
    public static partial void DebrisRemoved(ILogger logger, string path);

    [LoggerMessage(1506, LogLevel.Warning, "Accepting {Name} v{Version} below the highest accepted v{Highest} because the operator pinned it")]
    public static partial void PinnedDowngrade(ILogger logger, string name, long version, long highest);
}
