using System.Buffers;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using EdgeMl.Agent.Protocol;
using Microsoft.AspNetCore.Http;

namespace EdgeMl.Agent.Http;

/// <summary>
/// Reads a request body whole into a pooled buffer that grows with the bytes received, inflating gzip or deflate
/// (zlib) first, and refusing anything over the limit with a 413 that carries the protocol's error body (Kestrel's
/// own 413 has none, which clients report only as an empty response).
/// </summary>
/// <remarks>
/// A struct, so a request costs no object for it; it owns its buffer, so it is held in one variable and disposed
/// once there, never copied (a copy disposed too would give the buffer back twice).
/// </remarks>
internal struct PooledBody : IDisposable
{
    private byte[] _buffer;

    private PooledBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    /// <summary>One classifier image (110 KB of FP32) fits the first buffer, so the common request is read without a copy.</summary>
    internal const int FirstBufferBytes = 128 * 1024;

    public int Length { get; }

    /// <summary>The size of the buffer holding the body (pooled arrays may be larger than asked for).</summary>
    internal readonly int Capacity => _buffer.Length;

    public readonly ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

    /// <summary>
    /// The whole body: a plain one straight from Kestrel's pipe (no stream over it, whose read keeps an async state of
    /// its own whenever bytes are still on their way), a compressed one through its decoder.
    /// </summary>
    public static ValueTask<PooledBody> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            throw ProtocolException.TooLarge(limit, request.ContentLength);
        }

        var encoding = request.Headers.ContentEncoding.ToString().Trim().ToLowerInvariant();
        return encoding is "" or "identity"
            ? ReadAsync(request.BodyReader, request.ContentLength, limit, cancellationToken)
            : ReadAsync(Decoded(request.Body, encoding), encoding, limit, cancellationToken);
    }

    /// <remarks>
    /// A declared length is a claim, not bytes: the first buffer is at most <see cref="FirstBufferBytes"/>, and the
    /// buffer doubles only when bytes arrive to fill it, so a client cannot hold memory it does not send. The state of
    /// a read that waits for bytes is pooled, not allocated for each request.
    /// </remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<PooledBody> ReadAsync(PipeReader reader, long? declared, long limit, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(declared is { } known ? (int)Math.Min(known, FirstBufferBytes) : FirstBufferBytes);
        var length = 0;
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(cancellationToken);
                try
                {
                    Append(read.Buffer, ref buffer, ref length, limit);
                }
                finally
                {
                    reader.AdvanceTo(read.Buffer.End);
                }

                if (read.IsCompleted)
                {
                    return Whole(buffer, length, limit);
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<PooledBody> ReadAsync(Stream decoded, string encoding, long limit, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(FirstBufferBytes);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    buffer = Grown(buffer, limit);
                }

                var read = await decoded.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    return Whole(buffer, length, limit);
                }

                length += read;
            }
        }
        catch (InvalidDataException e)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw ProtocolException.BadRequest($"request body is not valid {encoding}: {e.Message}");
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        finally
        {
            await decoded.DisposeAsync();
        }
    }

    /// <summary>
    /// Copies <paramref name="bytes"/> after the first <paramref name="length"/> bytes of <paramref name="buffer"/>,
    /// growing it as they need. The caller's buffer is always the one held: a grown buffer replaces it at once, so one
    /// refused later (too large) gives back only the buffer still held, never one already returned to the pool.
    /// </summary>
    private static void Append(in ReadOnlySequence<byte> bytes, ref byte[] buffer, ref int length, long limit)
    {
        foreach (var segment in bytes)
        {
            for (var from = segment.Span; !from.IsEmpty;)
            {
                if (length == buffer.Length)
                {
                    buffer = Grown(buffer, limit);
                }

                var count = Math.Min(from.Length, buffer.Length - length);
                from[..count].CopyTo(buffer.AsSpan(length));
                from = from[count..];
                length += count;
            }
        }
    }

    /// <summary>The body read; over the limit (the buffer holds one byte more than it), refused.</summary>
    private static PooledBody Whole(byte[] buffer, int length, long limit) =>
        length > limit ? throw ProtocolException.TooLarge(limit) : new PooledBody(buffer, length);

    private static Stream Decoded(Stream body, string encoding) => encoding switch
    {
        "" or "identity" => body,
        "gzip" => new GZipStream(body, CompressionMode.Decompress, leaveOpen: true),
        "deflate" => new ZLibStream(body, CompressionMode.Decompress, leaveOpen: true),
        _ => throw new ProtocolException(501, $"Unsupported compression type '{encoding}'"),
    };

    /// <summary>A full buffer doubled (within one byte over the limit, to see a body that exceeds it); the old one goes back to the pool.</summary>
    private static byte[] Grown(byte[] full, long limit)
    {
        if (full.Length >= limit)
        {
            throw ProtocolException.TooLarge(limit);
        }

        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(limit + 1, Math.Max((long)full.Length * 2, 4096)));
        full.AsSpan().CopyTo(larger);
        ArrayPool<byte>.Shared.Return(full);
        return larger;
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
