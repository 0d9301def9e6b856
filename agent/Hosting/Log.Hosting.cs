using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent;

internal static partial class Log
{
    [LoggerMessage(5030, LogLevel.Warning, "EdgeMl:AllowUnsigned is on: unsigned model packages are accepted. Use this for development only.")]
    public static partial void UnsignedAllowed(ILogger logger);

    [LoggerMessage(5031, LogLevel.Warning, "No trusted keys are configured (EdgeMl:TrustedKeyFiles): models on disk serve, but every pull is refused until keys are set")]
    public static partial void NoTrustedKeys(ILogger logger);

    [LoggerMessage(5032, LogLevel.Information, "EdgeMl agent {Version} serving on {Urls}, metrics on {MetricsUrls}, data in {DataDirectory}")]
    public static partial void AgentStarted(ILogger logger, string version, string urls, string metricsUrls, string dataDirectory);

    [LoggerMessage(5033, LogLevel.Information, "Gave {ReleasedMegabytes} MB back to the system after start-up or a model load: resident set {BeforeMegabytes} MB → {AfterMegabytes} MB; the full collection took {PauseMilliseconds:F1} ms")]
    public static partial void MemoryReleased(ILogger logger, double releasedMegabytes, double beforeMegabytes, double afterMegabytes, double pauseMilliseconds);

    [LoggerMessage(5034, LogLevel.Warning, "After the failed start, some services did not stop cleanly")]
    public static partial void StopAfterFailedStartFailed(ILogger logger, Exception exception);
}
