using System.Buffers;
using System.IO.Compression;
using EdgeMl.Agent.Protocol;
using Microsoft.AspNetCore.Http;

namespace EdgeMl.Agent.Http;

/// <summary>
/// Reads a request body whole into a pooled buffer that grows with the bytes received, inflating gzip or deflate
/// (zlib) first, and refusing anything over the limit with a 413 that carries the protocol's error body (Kestrel's
/// own 413 has none, which clients report only as an empty response).
/// </summary>
internal sealed class PooledBody : IDisposable
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
    internal int Capacity => _buffer.Length;

    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

    public static async Task<PooledBody> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            throw ProtocolException.TooLarge(limit, request.ContentLength);
        }

        var encoding = request.Headers.ContentEncoding.ToString().Trim().ToLowerInvariant();
        var stream = Decoded(request.Body, encoding);

        // A declared length is a claim, not bytes: the first buffer is at most FirstBufferBytes, and the buffer
        // doubles only when bytes arrive to fill it, so a client cannot hold memory it does not send.
        var buffer = ArrayPool<byte>.Shared.Rent(encoding is "" or "identity" && request.ContentLength is { } known ? (int)Math.Min(known, FirstBufferBytes) : FirstBufferBytes);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    buffer = Grown(buffer, limit);
                }

                var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            if (length > limit)
            {
                throw ProtocolException.TooLarge(limit);
            }

            return new PooledBody(buffer, length);
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
            if (!ReferenceEquals(stream, request.Body))
            {
                await stream.DisposeAsync();
            }
        }
    }

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

        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(limit + 1, (long)full.Length * 2));
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
