using EdgeMl.CloudSync.Upload;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.Capture;

/// <summary>
/// <c>edgeml capture export --model M --out FILE.parquet</c>: every record of a model still in the store, in
/// the upload layout, for a field engineer with a laptop and no uplink. The rows stay in the store.
/// </summary>
internal static class CaptureExport
{
    public static async Task<long> ExportAsync(CaptureStore store, string? model, string outputPath, string deviceId, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        ArgumentNullException.ThrowIfNull(logger);
        var temp = outputPath + ".partial";
        long total;
        try
        {
            total = await WriteAsync(store, model, temp, deviceId, cancellationToken);
        }
        catch
        {
            // Stopped or failed half-way: nothing is left beside the output.
            File.Delete(temp);
            throw;
        }

        File.Move(temp, outputPath, overwrite: true);
        Log.CaptureExported(logger, total, model ?? "(all)", outputPath);
        return total;
    }

    private static async Task<long> WriteAsync(CaptureStore store, string? model, string path, string deviceId, CancellationToken cancellationToken)
    {
        long total = 0;
        await using var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        await using (var writer = await CaptureParquetWriter.CreateAsync(file, CaptureParquet.Metadata(deviceId, "export"), cancellationToken))
        {
            // Each page becomes a row group of the same file; an empty store still writes a valid file (no row group).
            long after = 0;
            while (store.Read(model, after, 5000) is { Count: > 0 } page)
            {
                await writer.WriteRowGroupAsync(page.Select(r => CaptureParquetRow.From(r, deviceId, "export")).ToList(), cancellationToken);
                total += page.Count;
                after = page[^1].Id;
            }
        }

        await file.FlushAsync(cancellationToken);
        return total;
    }
}
