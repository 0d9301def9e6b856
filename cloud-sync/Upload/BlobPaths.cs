using System.Globalization;
using System.Text;

namespace EdgeMl.CloudSync.Upload;

/// <summary>Where a batch lands: <c>{deviceId}/{model}/{version}/yyyy/MM/dd/HH/{batchId}.parquet</c>.</summary>
public static class BlobPaths
{
    public static string For(string deviceId, UploadBatch batch)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        ArgumentNullException.ThrowIfNull(batch);
        var hour = batch.Hour.ToUniversalTime();
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{Segment(deviceId)}/{Segment(batch.Model)}/{batch.Version}/{hour:yyyy}/{hour:MM}/{hour:dd}/{hour:HH}/{Segment(batch.BatchId)}.parquet");
    }

    /// <summary>Keeps a name to one path segment: '/', '\' and control characters become '_'.</summary>
    private static string Segment(string value)
    {
        var builder = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            builder.Append(c is '/' or '\\' || char.IsControl(c) ? '_' : c);
        }

        return builder.Length == 0 || builder.ToString() is "." or ".." ? "_" : builder.ToString();
    }
}
