using EdgeMl.CloudSync.Upload;
using Microsoft.Extensions.Logging;
using Parquet;
using Parquet.Serialization;

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
        long after = 0;
        var first = true;
        while (true)
        {
            var page = store.Read(model, after, 5000);
            if (page.Count == 0 && !first)
            {
                break;
            }

            // Each page becomes a row group appended to the same file; an empty store still writes a valid file.
            var rows = page.Select(r => CaptureParquetRow.From(r, deviceId, "export")).ToList();
            await ParquetSerializer.SerializeAsync(rows, file, new ParquetOptions { Append = !first }, cancellationToken: cancellationToken);
            first = false;
            total += page.Count;
            if (page.Count == 0)
            {
                break;
            }

            after = page[^1].Id;
        }

        await file.FlushAsync(cancellationToken);
        return total;
    }
}
