using Microsoft.Extensions.Logging;

namespace EdgeMl.CloudSync.Registries;

internal static partial class Log
{
    [LoggerMessage(2500, LogLevel.Warning, "Transfer of {Path} from {Registry} cut on try {Attempt}/{MaxAttempts}: {Reason}")]
    public static partial void TransferCut(ILogger logger, string path, string registry, int attempt, int maxAttempts, string reason);

    [LoggerMessage(2501, LogLevel.Information, "Pulling {Name} v{Version} from {Registry}")]
    public static partial void Pulling(ILogger logger, string name, long version, string registry);

    [LoggerMessage(2502, LogLevel.Information, "{Name} v{Version} is already active")]
    public static partial void AlreadyActive(ILogger logger, string name, long version);

    [LoggerMessage(2503, LogLevel.Information, "Published {Name} v{Version} to {Registry}")]
    public static partial void Published(ILogger logger, string name, long version, string registry);
}
