using System.Buffers;
using System.Runtime.InteropServices;

namespace EdgeMl.Runtime.Tensors;

/// <summary>
/// A named tensor: datatype, shape and contiguous little-endian data (or, for BYTES, one byte string per
/// element). The data is borrowed, not copied: callers keep it unchanged until the request completes.
/// </summary>
public sealed class InferenceTensor
{
    private readonly long[] _shape;
    private readonly ReadOnlyMemory<byte> _data;

    // The ArrayPool array the data lies in, for a large output the engine rented (see InferenceResult.Dispose);
    // null for data the tensor does not own that way, and once the array has gone back to the pool.
    private byte[]? _pooled;
    private bool _returned;

    private InferenceTensor(string name, TensorDataType dataType, long[] shape, ReadOnlyMemory<byte> data, IReadOnlyList<ReadOnlyMemory<byte>>? elements)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        Name = name;
        DataType = dataType;
        _shape = shape;
        _data = data;
        Elements = elements ?? [];
    }

    public string Name { get; }

    public TensorDataType DataType { get; }

    public IReadOnlyList<long> Shape => _shape;

    /// <summary>Contiguous element data for every datatype but BYTES.</summary>
    /// <exception cref="ObjectDisposedException">The tensor is an output whose pooled buffer its result gave back.</exception>
    public ReadOnlyMemory<byte> Data => !_returned
        ? _data
        : throw new ObjectDisposedException(Name, $"output '{Name}' was read after its result was disposed; keep a copy (Detach) to use it later");

    /// <summary>The elements of a BYTES tensor, in row-major order.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Elements { get; }

    /// <summary>The element count the shape declares, or -1 when a dimension is negative or the product overflows.</summary>
    public long ElementCount => CountElements(_shape);

    /// <summary>Size of the data in bytes.</summary>
    public long ByteLength
    {
        get
        {
            if (DataType != TensorDataType.Bytes)
            {
                return Data.Length;
            }

            long total = 0;
            foreach (var element in Elements)
            {
                total += element.Length;
            }

            return total;
        }
    }

    internal long[] ShapeArray => _shape;

    public static InferenceTensor Create<T>(string name, long[] shape, T[] data)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        return new(name, TensorDataTypes.Of<T>(), shape, new ArrayBytes<T>(data).Memory, null);
    }

    public static InferenceTensor FromBytes(string name, TensorDataType dataType, long[] shape, ReadOnlyMemory<byte> data)
    {
        if (dataType == TensorDataType.Bytes)
        {
            throw new ArgumentException("BYTES tensors are made with FromElements.", nameof(dataType));
        }

        return new(name, dataType, shape, data, null);
    }

    public static InferenceTensor FromElements(string name, long[] shape, IReadOnlyList<ReadOnlyMemory<byte>> elements)
    {
        ArgumentNullException.ThrowIfNull(elements);
        return new(name, TensorDataType.Bytes, shape, ReadOnlyMemory<byte>.Empty, elements);
    }

    /// <summary>The data viewed as elements of <typeparamref name="T"/>.</summary>
    public ReadOnlySpan<T> Span<T>()
        where T : unmanaged => MemoryMarshal.Cast<byte, T>(Data.Span);

    /// <summary>This tensor under another name, sharing the data (copying it when it lies in a pooled buffer).</summary>
    public InferenceTensor WithName(string name) => new(name, DataType, _shape, _pooled is null ? Data : Data.ToArray(), Elements);

    /// <summary>
    /// This tensor, or a copy of it when its data lies in a pooled buffer its result gives back on dispose: what to keep
    /// beyond the answer.
    /// </summary>
    public InferenceTensor Detach() => _pooled is null ? this : new(Name, DataType, _shape, Data.ToArray(), null);

    /// <summary>Whether the data lies in a buffer from <see cref="ArrayPool{T}.Shared"/> that the result gives back.</summary>
    internal bool IsPooled => _pooled is not null;

    /// <summary>An output in a buffer rented from <see cref="ArrayPool{T}.Shared"/>, returned by <see cref="Return"/>.</summary>
    internal static InferenceTensor FromPool(string name, TensorDataType dataType, long[] shape, byte[] rented, int length) =>
        new(name, dataType, shape, rented.AsMemory(0, length), null) { _pooled = rented };

    /// <summary>Gives a pooled output's buffer back (once); reading <see cref="Data"/> afterwards throws.</summary>
    internal void Return()
    {
        if (Interlocked.Exchange(ref _pooled, null) is not { } array)
        {
            return;
        }

        // Overwritten as it goes back: a reader that kept the memory past the answer sees plain garbage, never this answer
        // (which the tests would miss), at the cost of one pass over a large output.
        _returned = true;
        array.AsSpan().Fill(0xCD);
        ArrayPool<byte>.Shared.Return(array);
    }

    internal static long CountElements(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                return -1;
            }

            try
            {
                count = checked(count * d);
            }
            catch (OverflowException)
            {
                return -1;
            }
        }

        return count;
    }

    /// <summary>Views a typed array as bytes without copying it.</summary>
    private sealed class ArrayBytes<T>(T[] array) : MemoryManager<byte>
        where T : unmanaged
    {
        public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(array.AsSpan());

        public override unsafe MemoryHandle Pin(int elementIndex = 0)
        {
            var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
            var pointer = (byte*)handle.AddrOfPinnedObject() + elementIndex;
            return new MemoryHandle(pointer, handle, this);
        }

        public override void Unpin()
        {
            // Each Pin hands its GCHandle to the MemoryHandle, which frees it; nothing is held here.
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
