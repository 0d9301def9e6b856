using System.Text;
using EdgeMl.Agent.Protocol;

namespace EdgeMl.Agent.Tests.Protocol;

public sealed class PooledJsonTests
{
    [Fact]
    public void Return_EmptiesTheBuffer_AndDropsOneGrownPastTheLimit()
    {
        var small = PooledJson.Rent();
        PooledJson.Write(small, 7, static (w, n) => w.WriteNumberValue(n));
        Assert.Equal("7", Encoding.UTF8.GetString(small.WrittenSpan));
        PooledJson.Return(small);
        Assert.Equal(0, small.WrittenCount);

        var large = PooledJson.Rent();
        large.Advance(large.GetSpan(PooledJson.MaxKeptBytes + 1).Length);
        PooledJson.Return(large);
        var next = new[] { PooledJson.Rent(), PooledJson.Rent(), PooledJson.Rent() };
        Assert.DoesNotContain(large, next);
        Assert.All(next, b => Assert.Equal(0, b.WrittenCount));
        Array.ForEach(next, PooledJson.Return);
    }

    [Fact]
    public void Write_AfterAFailedWrite_StartsClean()
    {
        var buffer = PooledJson.Rent();
        Assert.Throws<InvalidOperationException>(() => PooledJson.Write(buffer, 0, static (w, _) =>
        {
            w.WriteStartObject();
            throw new InvalidOperationException("half-written");
        }));

        buffer.ResetWrittenCount();
        PooledJson.Write(buffer, "a", static (w, s) => w.WriteStringValue(s));
        Assert.Equal("\"a\"", Encoding.UTF8.GetString(buffer.WrittenSpan));
        PooledJson.Return(buffer);
    }

    [Fact]
    public void Write_OnAThreadThatWroteBefore_AllocatesNothing()
    {
        Action<System.Text.Json.Utf8JsonWriter, int> number = static (w, n) => w.WriteNumberValue(n);
        var buffer = PooledJson.Rent();
        PooledJson.Write(buffer, 7, number);
        buffer.ResetWrittenCount();

        var before = GC.GetAllocatedBytesForCurrentThread();
        PooledJson.Write(buffer, 8, number);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal("8", Encoding.UTF8.GetString(buffer.WrittenSpan));
        Assert.Equal(0, allocated);
        PooledJson.Return(buffer);
    }
}
