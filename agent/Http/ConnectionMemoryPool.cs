using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace EdgeMl.Agent.Http;

/// <summary>
/// The memory Kestrel's connections read requests into and write answers from: blocks of 64 KB while few are out,
/// Kestrel's own 4 KB beyond that.
/// </summary>
/// <remarks>
/// The socket transport receives into the free part of the block its pipe holds, so Kestrel's 4 KB blocks take a
/// 110 KB tensor in 28 receive calls, each handing its bytes to the request's reader on another thread. A 64 KB block
/// takes it in two. Large blocks are for the requests in flight: past <see cref="LargeBudget"/> of them out at
/// once (many connections each holding a part of a request, as a slow or hostile client does), blocks are 4 KB
/// again, so what connections hold grows as with Kestrel's own pool. A kept-alive connection may hold the block its last
/// request ended in until it sends again or closes; that block counts against the budget too. A block given back is
/// kept for the next rent up to a small number (idle memory), beyond that left to the collector.
/// </remarks>
internal sealed class ConnectionMemoryPool : MemoryPool<byte>
{
    public const int LargeBlock = 64 * 1024;
    public const int SmallBlock = 4 * 1024;

    /// <summary>Large blocks out at once: 4 MB. Kept when given back: 1 MB.</summary>
    public const int LargeBudget = 64;
    private const int LargeKept = 16;

    /// <summary>Small blocks kept when given back: 1 MB.</summary>
    private const int SmallKept = 256;

    private readonly Shelf _large = new(LargeBlock, LargeKept);
    private readonly Shelf _small = new(SmallBlock, SmallKept);
    private int _largeOut;
    private long _largeRents;

    public override int MaxBufferSize => LargeBlock;

    /// <summary>Large blocks rented and not yet given back.</summary>
    internal int LargeOut => Volatile.Read(ref _largeOut);

    /// <summary>Large blocks rented since the pool was made.</summary>
    internal long LargeRents => Interlocked.Read(ref _largeRents);

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, LargeBlock);
        if (Interlocked.Increment(ref _largeOut) <= LargeBudget)
        {
            Interlocked.Increment(ref _largeRents);
            return _large.Take(this);
        }

        Interlocked.Decrement(ref _largeOut);

        // Over budget, a rent for more than a small block still gets what it asked for, unpooled.
        return minBufferSize <= SmallBlock ? _small.Take(this) : new Block(this, null, minBufferSize);
    }

    protected override void Dispose(bool disposing)
    {
        // Blocks still out come back through their own Dispose; nothing here holds native memory.
    }

    private void Return(Block block, Shelf? shelf)
    {
        if (shelf == _large)
        {
            Interlocked.Decrement(ref _largeOut);
        }

        shelf?.Put(block);
    }

    /// <summary>Free blocks of one size, at most <c>kept</c> of them.</summary>
    private sealed class Shelf(int size, int kept)
    {
        private readonly ConcurrentQueue<Block> _free = new();
        private int _count;

        public Block Take(ConnectionMemoryPool pool)
        {
            if (_free.TryDequeue(out var block))
            {
                Interlocked.Decrement(ref _count);
                block.Rented();
                return block;
            }

            return new Block(pool, this, size);
        }

        public void Put(Block block)
        {
            if (Interlocked.Increment(ref _count) <= kept)
            {
                _free.Enqueue(block);
                return;
            }

            Interlocked.Decrement(ref _count);
        }
    }

    private sealed class Block(ConnectionMemoryPool pool, Shelf? shelf, int size) : IMemoryOwner<byte>
    {
        // On the pinned object heap, as Kestrel's own blocks: the socket reads into them without moving them.
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(size, pinned: true);
        private int _out = 1;

        public Memory<byte> Memory => Volatile.Read(ref _out) == 1
            ? _array
            : throw new ObjectDisposedException(nameof(ConnectionMemoryPool), "the block was given back to the pool");

        public void Rented() => Volatile.Write(ref _out, 1);

        /// <summary>Given back once: a second Dispose does nothing, so a block is never on the shelf twice.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _out, 0) == 1)
            {
                pool.Return(this, shelf);
            }
        }
    }
}

/// <summary>Kestrel's socket transport asks this for its pools (one per I/O queue); each is a <see cref="ConnectionMemoryPool"/>.</summary>
internal sealed class ConnectionMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    private readonly ConcurrentQueue<ConnectionMemoryPool> _created = new();

    /// <summary>The pools made, for the diagnostics of tests: the transport makes them at start and keeps them.</summary>
    internal IEnumerable<ConnectionMemoryPool> Created => _created;

    public MemoryPool<byte> Create(MemoryPoolOptions? options = null)
    {
        var pool = new ConnectionMemoryPool();
        _created.Enqueue(pool);
        return pool;
    }
}
