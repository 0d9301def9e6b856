using Microsoft.Extensions.Logging;

namespace EdgeMl.CloudSync.Upload;

internal static partial class Log
{
    [LoggerMessage(3000, LogLevel.Debug, "Uploaded capture batch {BatchId} ({Records} records, {Bytes} bytes) to {Path}")]
    public static partial void BatchUploaded(ILogger logger, string batchId, int records, long bytes, string path);

    [LoggerMessage(3001, LogLevel.Warning, "Capture upload of batch {BatchId} failed ({Failures} in a row), retrying within {Delay}: {Error}")]
    public static partial void BatchFailed(ILogger logger, string batchId, int failures, TimeSpan delay, string? error);

    [LoggerMessage(3002, LogLevel.Information, "Capture upload link is back after {Failures} failures; resuming")]
    public static partial void LinkBack(ILogger logger, int failures);

    [LoggerMessage(3003, LogLevel.Error, "Capture upload pass failed unexpectedly; retrying")]
    public static partial void PassFailed(ILogger logger, Exception exception);
}
