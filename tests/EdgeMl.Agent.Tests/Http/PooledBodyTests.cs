using System.Buffers;
using System.IO.Compression;
using System.IO.Pipelines;
using EdgeMl.Agent.Http;
using EdgeMl.Agent.Protocol;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace EdgeMl.Agent.Tests.Http;

public sealed class PooledBodyTests
{
    [Fact]
    public async Task ReadAsync_ContentLengthClaimsFarMoreThanArrives_BufferSizedByTheBytes()
    {
        var request = Request(new byte[1000], declared: 60_000_000);

        using var body = await PooledBody.ReadAsync(request, limit: 64L * 1024 * 1024, CancellationToken.None);

        Assert.Equal(1000, body.Length);
        Assert.InRange(body.Capacity, 1000, PooledBody.FirstBufferBytes);
    }

    [Fact]
    public async Task ReadAsync_LargeHonestBody_GrowsWithTheBytesAndKeepsThemAll()
    {
        var bytes = Enumerable.Range(0, 3_000_000).Select(i => (byte)i).ToArray();
        var request = Request(bytes, declared: bytes.Length);

        using var body = await PooledBody.ReadAsync(request, limit: 64L * 1024 * 1024, CancellationToken.None);

        Assert.Equal(bytes, body.Memory.ToArray());
        Assert.InRange(body.Capacity, bytes.Length, 2 * bytes.Length);
    }

    [Fact]
    public async Task ReadAsync_BodyGrowsPastTheLimitWithinOneRead_413AndNoBufferGivenBackTwice()
    {
        // All the bytes in one read from the pipe: the buffer grows several times before the limit refuses it.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        await pipe.Writer.WriteAsync(new byte[300_000]);
        await pipe.Writer.CompleteAsync();
        var context = new DefaultHttpContext();
        context.Features.Set<IRequestBodyPipeFeature>(new BodyPipe(pipe.Reader));
        context.Request.ContentLength = 100;

        var e = await Assert.ThrowsAsync<ProtocolException>(async () => await PooledBody.ReadAsync(context.Request, limit: 200_000, CancellationToken.None));

        Assert.Equal(413, e.StatusCode);
        // A buffer returned to the pool twice would come out of it twice: every size the read went through rents apart.
        foreach (var size in new[] { 100, 4096, 8192, 16_384, 32_768, 65_536, 131_072, 200_001 })
        {
            var (a, b) = (ArrayPool<byte>.Shared.Rent(size), ArrayPool<byte>.Shared.Rent(size));
            Assert.NotSame(a, b);
            ArrayPool<byte>.Shared.Return(a);
            ArrayPool<byte>.Shared.Return(b);
        }
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task ReadAsync_Compressed_InflatedWhole(string encoding)
    {
        var bytes = Enumerable.Range(0, 500_000).Select(i => (byte)(i % 7)).ToArray();
        using var packed = new MemoryStream();
        await using (Stream compressor = encoding == "gzip" ? new GZipStream(packed, CompressionLevel.Fastest, leaveOpen: true) : new ZLibStream(packed, CompressionLevel.Fastest, leaveOpen: true))
        {
            await compressor.WriteAsync(bytes);
        }

        var request = Request(packed.ToArray(), declared: packed.Length);
        request.Headers.ContentEncoding = encoding;

        using var body = await PooledBody.ReadAsync(request, limit: 64L * 1024 * 1024, CancellationToken.None);

        Assert.Equal(bytes, body.Memory.ToArray());
    }

    [Fact]
    public async Task ReadAsync_EmptyBody_Empty()
    {
        using var body = await PooledBody.ReadAsync(Request([], declared: 0), limit: 1024, CancellationToken.None);

        Assert.Equal(0, body.Length);
    }

    private sealed class BodyPipe(PipeReader reader) : IRequestBodyPipeFeature
    {
        public PipeReader Reader => reader;
    }

    private static HttpRequest Request(byte[] bytes, long declared)
    {
        var context = new DefaultHttpContext();
        context.Request.Body = new MemoryStream(bytes);
        context.Request.ContentLength = declared;
        return context.Request;
    }
}
