using EdgeMl.Agent.Drift;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent;

internal static partial class Log
{
    [LoggerMessage(4000, LogLevel.Information, "Capture store {Path} opened: {Records} records, {Bytes} of {Quota} quota bytes")]
    public static partial void CaptureStoreOpened(ILogger logger, string path, long records, long bytes, long quota);

    [LoggerMessage(4001, LogLevel.Error, "Capture store {Path} is corrupt and was moved to {MovedTo}; a fresh store was started ({Problem})")]
    public static partial void CaptureStoreCorrupt(ILogger logger, string path, string movedTo, string problem);

    [LoggerMessage(4002, LogLevel.Warning, "Capture store lost a batch of {Records} records (SQLite error {Code}): {Message}")]
    public static partial void CaptureBatchLost(ILogger logger, int records, int code, string message);

    [LoggerMessage(4003, LogLevel.Error, "Capture writer pass failed unexpectedly; continuing")]
    public static partial void CaptureWriterFailed(ILogger logger, Exception exception);

    [LoggerMessage(4004, LogLevel.Information, "Exported {Records} captured records of {Model} to {Path}")]
    public static partial void CaptureExported(ILogger logger, long records, string model, string path);

    [LoggerMessage(4005, LogLevel.Warning, "Removed {Path}, a corrupt capture store moved aside earlier; the newest {Keep} are kept")]
    public static partial void CaptureStorePruned(ILogger logger, string path, int keep);

    [LoggerMessage(4100, LogLevel.Warning, "Drift of {Model} v{Version} changed from {Previous} to {Current} (max PSI {Psi:F3})")]
    public static partial void DriftLevelChanged(ILogger logger, string model, long version, DriftLevel previous, DriftLevel current, double psi);

    [LoggerMessage(4101, LogLevel.Error, "Drift evaluation failed; trying again next interval")]
    public static partial void DriftEvaluationFailed(ILogger logger, Exception exception);
}
