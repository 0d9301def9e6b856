using System.Buffers;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grpc.Core;
using Inference;

namespace EdgeMl.Agent.Grpc;

/// <summary>
/// <c>ModelInferRequest</c> read without a copy of its tensors: the message's bytes go once into a pooled buffer, as
/// the HTTP body does, and each <c>raw_input_contents</c> entry is a view of that buffer instead of a new array
/// (protobuf copies every <c>bytes</c> field; for a 110 KB image that was an allocation per request and a young
/// collection every few dozen). Every other field is parsed by protobuf from the same bytes. The buffer goes back to the
/// pool when <see cref="Return"/> is called at the end of the call; a call that never reaches the service (refused by
/// the gate) leaves its buffer to the collector.
/// </summary>
internal static class PooledInferRequests
{
    private const int RawInputContentsField = 7;
    private static readonly ConditionalWeakTable<ModelInferRequest, byte[]> Rented = new();

    public static readonly Marshaller<ModelInferRequest> Marshaller = Marshallers.Create<ModelInferRequest>(
        (message, context) =>
        {
            context.SetPayloadLength(message.CalculateSize());
            message.WriteTo(context.GetBufferWriter());
            context.Complete();
        },
        Deserialize);

    /// <summary>Hands the request's buffer back to the pool; its raw contents must not be read afterwards.</summary>
    public static void Return(ModelInferRequest request)
    {
        if (Rented.TryGetValue(request, out var buffer) && Rented.Remove(request))
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ModelInferRequest Deserialize(DeserializationContext context)
    {
        var payload = context.PayloadAsReadOnlySequence();
        var length = checked((int)payload.Length);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, length));
        payload.CopyTo(buffer);
        ModelInferRequest request;
        try
        {
            request = Parse(buffer.AsMemory(0, length));
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        if (request.RawInputContents.Count == 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        else
        {
            Rented.AddOrUpdate(request, buffer);
        }

        return request;
    }

    /// <summary>
    /// The top-level fields of <paramref name="data"/>: <c>raw_input_contents</c> entries become views of it, the runs
    /// of other fields between them are merged by protobuf, which is the same as parsing the whole (fields of a message
    /// merge in order). Anything this walk does not expect is left to protobuf's own parser and its errors.
    /// </summary>
    internal static ModelInferRequest Parse(ReadOnlyMemory<byte> data)
    {
        var request = new ModelInferRequest();
        var span = data.Span;
        var position = 0;
        var runStart = 0;
        while (position < span.Length)
        {
            var fieldStart = position;
            if (!TryReadVarint(span, ref position, out var tag))
            {
                return ModelInferRequest.Parser.ParseFrom(span);
            }

            var field = tag >> 3;
            switch ((int)(tag & 7))
            {
                case 0 when TryReadVarint(span, ref position, out _):
                    break;
                case 1 when span.Length - position >= 8:
                    position += 8;
                    break;
                case 5 when span.Length - position >= 4:
                    position += 4;
                    break;
                case 2 when TryReadVarint(span, ref position, out var length) && length <= (ulong)(span.Length - position):
                    if (field == RawInputContentsField)
                    {
                        request.MergeFrom(span[runStart..fieldStart]);
                        request.RawInputContents.Add(UnsafeByteOperations.UnsafeWrap(data.Slice(position, (int)length)));
                        runStart = position + (int)length;
                    }

                    position += (int)length;
                    break;
                default:
                    return ModelInferRequest.Parser.ParseFrom(span);
            }
        }

        request.MergeFrom(span[runStart..]);
        return request;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> span, ref int position, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && position < span.Length; shift += 7)
        {
            var b = span[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Binds the generated service with <see cref="PooledInferRequests.Marshaller"/> for the two methods that take a <c>ModelInferRequest</c>.</summary>
internal sealed class PooledRequestBinder(ServiceBinderBase inner) : ServiceBinderBase
{
    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(Pooled(method), handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(Pooled(method), handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(Pooled(method), handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(Pooled(method), handler);

    private static Method<TRequest, TResponse> Pooled<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class
        where TResponse : class =>
        PooledInferRequests.Marshaller is Marshaller<TRequest> pooled
            ? new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, pooled, method.ResponseMarshaller)
            : method;
}
