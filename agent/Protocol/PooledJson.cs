using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.ObjectPool;

namespace EdgeMl.Agent.Protocol;

/// <summary>
/// JSON bodies written into pooled buffers by one writer per thread: an answer's header (or a health answer) costs no
/// new buffer, writer or stream per request. A buffer is taken before the body is written and given back once it is
/// sent; one grown past <see cref="MaxKeptBytes"/> (a large JSON answer) is left to the collector instead of kept.
/// </summary>
internal static class PooledJson
{
    internal const int MaxKeptBytes = 64 * 1024;

    private static readonly ObjectPool<ArrayBufferWriter<byte>> Buffers =
        new DefaultObjectPool<ArrayBufferWriter<byte>>(new BufferPolicy(), maximumRetained: 4 * Environment.ProcessorCount);

    /// <summary>One writer per thread, reset onto each body's buffer: a body is written synchronously, before any await.</summary>
    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    public static ArrayBufferWriter<byte> Rent() => Buffers.Get();

    public static void Return(ArrayBufferWriter<byte> buffer) => Buffers.Return(buffer);

    /// <summary>Writes one JSON value into <paramref name="buffer"/> with the thread's writer.</summary>
    public static void Write<TState>(IBufferWriter<byte> buffer, TState state, Action<Utf8JsonWriter, TState> write)
    {
        var writer = t_writer ??= new Utf8JsonWriter(buffer, InferResponseWriter.WriterOptions);
        writer.Reset(buffer);
        try
        {
            write(writer, state);
            writer.Flush();
        }
        finally
        {
            // The thread's writer lets go of this buffer (and of a half-written one after an exception). Reset onto a
            // stream would give the writer a new buffer of its own each time.
            writer.Reset(NoBuffer.Instance);
        }
    }

    /// <summary>What an idle writer points at: nothing is ever written to it.</summary>
    private sealed class NoBuffer : IBufferWriter<byte>
    {
        public static readonly NoBuffer Instance = new();

        public void Advance(int count) => throw new InvalidOperationException("an idle JSON writer was written to");

        public Memory<byte> GetMemory(int sizeHint = 0) => throw new InvalidOperationException("an idle JSON writer was written to");

        public Span<byte> GetSpan(int sizeHint = 0) => throw new InvalidOperationException("an idle JSON writer was written to");
    }

    private sealed class BufferPolicy : IPooledObjectPolicy<ArrayBufferWriter<byte>>
    {
        public ArrayBufferWriter<byte> Create() => new(256);

        public bool Return(ArrayBufferWriter<byte> buffer)
        {
            if (buffer.Capacity > MaxKeptBytes)
            {
                return false;
            }

            buffer.ResetWrittenCount();
            return true;
        }
    }
}
