namespace EdgeMl.CloudSync.IO;

/// <summary>
/// A read-only view of another stream, for wrappers that watch or pace what is read (progress, a bandwidth cap): they
/// read through <see cref="Inner"/> and hear of every jump through <see cref="Repositioned"/>. Whether the inner stream
/// is disposed with the view is the wrapper's choice.
/// </summary>
internal abstract class ReadOnlyWrapperStream(Stream inner) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => Inner.CanSeek;

    public override bool CanWrite => false;

    public override long Length => Inner.Length;

    public override long Position
    {
        get => Inner.Position;
        set
        {
            Inner.Position = value;
            Repositioned(value);
        }
    }

    protected Stream Inner { get; } = inner;

    public abstract override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin)
    {
        var position = Inner.Seek(offset, origin);
        Repositioned(position);
        return position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>The view moved to <paramref name="position"/> (a seek, or an SDK retry rewinding).</summary>
    protected abstract void Repositioned(long position);
}
