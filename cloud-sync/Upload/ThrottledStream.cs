using EdgeMl.CloudSync.IO;

namespace EdgeMl.CloudSync.Upload;

/// <summary>
/// A read-only view of a stream that hands out at most a given number of bytes per second (the upload
/// bandwidth cap). Seeking restarts the budget, so an SDK retry is throttled too.
/// </summary>
internal sealed class ThrottledStream(Stream inner, long bytesPerSecond, TimeProvider time) : ReadOnlyWrapperStream(inner)
{
    private long _start = time.GetTimestamp();
    private long _sent;

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // Small slices keep the rate smooth: at most a tenth of a second's budget per read.
        var slice = (int)Math.Clamp(bytesPerSecond / 10, 1, buffer.Length == 0 ? 1 : buffer.Length);
        var read = await Inner.ReadAsync(buffer[..Math.Min(slice, buffer.Length)], cancellationToken);
        _sent += read;
        var due = TimeSpan.FromSeconds((double)_sent / bytesPerSecond);
        var elapsed = time.GetElapsedTime(_start);
        if (due > elapsed)
        {
            await Task.Delay(due - elapsed, time, cancellationToken);
        }

        return read;
    }

    protected override void Repositioned(long position) => Restart();

    private void Restart()
    {
        _start = time.GetTimestamp();
        _sent = 0;
    }
}
