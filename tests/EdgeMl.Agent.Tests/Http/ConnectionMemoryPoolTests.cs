using System.Buffers;
using System.IO.Pipelines;
using EdgeMl.Agent.Http;

namespace EdgeMl.Agent.Tests.Http;

public sealed class ConnectionMemoryPoolTests
{
    [Fact]
    public void Rent_WithinTheBudget_LargeBlocks()
    {
        using var pool = new ConnectionMemoryPool();

        using var block = pool.Rent(2048);

        Assert.Equal(ConnectionMemoryPool.LargeBlock, block.Memory.Length);
        Assert.Equal(1, pool.LargeOut);
    }

    [Fact]
    public void Rent_PastTheBudget_SmallBlocksAsKestrelsOwn_AndLargeAgainOnceOneIsBack()
    {
        using var pool = new ConnectionMemoryPool();
        var held = Enumerable.Range(0, ConnectionMemoryPool.LargeBudget).Select(_ => pool.Rent(4096)).ToList();

        var small = pool.Rent(4096);
        var defaultSize = pool.Rent();

        Assert.Equal(ConnectionMemoryPool.SmallBlock, small.Memory.Length);
        Assert.Equal(ConnectionMemoryPool.SmallBlock, defaultSize.Memory.Length);
        Assert.Equal(ConnectionMemoryPool.LargeBudget, pool.LargeOut);

        held[0].Dispose();
        using var again = pool.Rent(4096);
        Assert.Equal(ConnectionMemoryPool.LargeBlock, again.Memory.Length);
        foreach (var block in held.Skip(1).Append(small).Append(defaultSize))
        {
            block.Dispose();
        }

        Assert.Equal(1, pool.LargeOut);
    }

    [Fact]
    public void Rent_PastTheBudgetForMoreThanASmallBlock_GetsWhatItAskedFor()
    {
        using var pool = new ConnectionMemoryPool();
        var held = Enumerable.Range(0, ConnectionMemoryPool.LargeBudget).Select(_ => pool.Rent()).ToList();

        using var block = pool.Rent(10_000);

        Assert.True(block.Memory.Length >= 10_000);
        held.ForEach(b => b.Dispose());
    }

    [Fact]
    public void Rent_MoreThanTheLargestBlock_Refused()
    {
        using var pool = new ConnectionMemoryPool();

        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(ConnectionMemoryPool.LargeBlock + 1));
        Assert.Equal(0, pool.LargeOut);
    }

    [Fact]
    public void Dispose_Twice_TheBlockIsGivenBackOnce()
    {
        using var pool = new ConnectionMemoryPool();
        var block = pool.Rent();

        block.Dispose();
        block.Dispose();
        Assert.Throws<ObjectDisposedException>(() => block.Memory);
        using var first = pool.Rent();
        using var second = pool.Rent();

        // Had the block gone onto the shelf twice, both rents would hold the same memory.
        Assert.NotSame(first, second);
        Assert.Equal(2, pool.LargeOut);
    }

    [Fact]
    public void Rent_AfterGivingBack_TheSameBlockIsUsedAgain()
    {
        using var pool = new ConnectionMemoryPool();
        var block = pool.Rent();
        block.Dispose();

        using var again = pool.Rent();

        Assert.Same(block, again);
        Assert.Equal(ConnectionMemoryPool.LargeBlock, again.Memory.Length);
    }

    [Fact]
    public async Task Pipe_OverThePool_CarriesATensorInLargeSegments()
    {
        // As the socket transport uses it: the writer asks for 2 KB at a time and fills what it is given.
        using var pool = new ConnectionMemoryPool();
        var pipe = new Pipe(new PipeOptions(pool, pauseWriterThreshold: 0));
        var bytes = Enumerable.Range(0, 110_592).Select(i => (byte)(i * 7)).ToArray();
        var writes = 0;
        for (var sent = 0; sent < bytes.Length; writes++)
        {
            var memory = pipe.Writer.GetMemory(2048);
            var count = Math.Min(memory.Length, bytes.Length - sent);
            bytes.AsSpan(sent, count).CopyTo(memory.Span);
            pipe.Writer.Advance(count);
            sent += count;
        }

        await pipe.Writer.CompleteAsync();
        var read = await pipe.Reader.ReadAtLeastAsync(bytes.Length);

        Assert.Equal(2, writes);
        Assert.Equal(bytes, read.Buffer.ToArray());
        pipe.Reader.AdvanceTo(read.Buffer.End);
        await pipe.Reader.CompleteAsync();
        Assert.Equal(0, pool.LargeOut);
    }
}
