using EdgeMl.Agent.Http;
using Microsoft.AspNetCore.Http;

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

    private static HttpRequest Request(byte[] bytes, long declared)
    {
        var context = new DefaultHttpContext();
        context.Request.Body = new MemoryStream(bytes);
        context.Request.ContentLength = declared;
        return context.Request;
    }
}
