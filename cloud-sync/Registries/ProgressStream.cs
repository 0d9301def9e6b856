using EdgeMl.CloudSync.IO;

namespace EdgeMl.CloudSync.Registries;

/// <summary>A read-only stream that reports how much of it has been read, for upload progress.</summary>
internal sealed class ProgressStream(Stream inner, string path, long total, IProgress<DownloadProgress>? progress) : ReadOnlyWrapperStream(inner)
{
    private long _read;

    public override int Read(byte[] buffer, int offset, int count) => Track(Inner.Read(buffer, offset, count));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Track(await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

    protected override void Repositioned(long position) => _read = position;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Track(int read)
    {
        _read += read;
        progress?.Report(new DownloadProgress(path, _read, total));
        return read;
    }
}
