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

    [LoggerMessage(2503, LogLevel.Information, "Published {Name} v{Version} to {Registry} (versions.json sequence {Sequence})")]
    public static partial void Published(ILogger logger, string name, long version, string registry, long sequence);

    [LoggerMessage(2504, LogLevel.Warning, "Starting a new versions.json for {Name} in {Registry}; the list there was not read and the versions it listed are no longer offered")]
    public static partial void NewList(ILogger logger, string name, string registry);

    [LoggerMessage(2505, LogLevel.Information, "Model registry {Registry} opened as a {Kind} registry")]
    public static partial void RegistryOpened(ILogger logger, string registry, string kind);
}
