using System.Buffers.Binary;
using System.Runtime.InteropServices;
using EdgeMl.Agent.Protocol;
using EdgeMl.Runtime.Tensors;
using Google.Protobuf;
using Grpc.Core;
using Inference;

namespace EdgeMl.Agent.Grpc;

/// <summary>
/// Tensors between the protocol's messages and the engine's: typed <c>contents</c> or <c>raw_input_contents</c>
/// (little-endian, row-major; BYTES elements each behind a 4-byte length, as Triton sends them) in, and out the same
/// way the request came: raw when it sent raw (or when an output is FP16, which has no typed field), typed otherwise.
/// </summary>
internal static class GrpcTensors
{
    public static InferenceRequest ToRequest(ModelInferRequest request)
    {
        var raw = request.RawInputContents;
        if (raw.Count > 0 && raw.Count != request.Inputs.Count)
        {
            throw Invalid($"raw_input_contents has {raw.Count} entries for {request.Inputs.Count} inputs; give one per input, in order");
        }

        var inputs = new List<InferenceTensor>(request.Inputs.Count);
        for (var i = 0; i < request.Inputs.Count; i++)
        {
            var input = request.Inputs[i];
            if (input.Name is not { Length: > 0 } name)
            {
                throw Invalid("an input has no name");
            }

            var datatype = input.Datatype == "STRING" ? "BYTES" : input.Datatype;
            if (!TensorDataTypes.TryParse(datatype, out var type))
            {
                throw Invalid($"input '{name}': datatype '{input.Datatype}' is not one of BOOL, UINT8-64, INT8-64, FP16, FP32, FP64, BYTES");
            }

            var shape = input.Shape.ToArray();
            var count = ElementCount(name, shape);
            if (raw.Count > 0)
            {
                if (input.Contents is not null)
                {
                    throw Invalid($"input '{name}' has contents as well as raw_input_contents; give one or the other");
                }

                inputs.Add(FromRaw(name, type, shape, count, raw[i].Memory));
            }
            else
            {
                inputs.Add(FromContents(name, type, shape, count, input.Contents));
            }
        }

        return new InferenceRequest(inputs, [.. request.Outputs.Select(o => o.Name)]);
    }

    public static ModelInferResponse ToResponse(ModelInferRequest request, InferenceResult result)
    {
        var response = new ModelInferResponse
        {
            ModelName = result.Model,
            ModelVersion = result.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Id = request.Id,
        };
        var raw = request.RawInputContents.Count > 0 || HasFp16(result.Outputs);
        foreach (var output in result.Outputs)
        {
            var tensor = new ModelInferResponse.Types.InferOutputTensor { Name = output.Name, Datatype = output.DataType.ToProtocolName() };
            tensor.Shape.AddRange(output.Shape);
            if (raw)
            {
                // The engine's outputs are this answer's own, never written again until the call gives them back: the message wraps them.
                response.RawOutputContents.Add(output.DataType == TensorDataType.Bytes ? LengthPrefixed(output) : UnsafeByteOperations.UnsafeWrap(output.Data));
            }
            else
            {
                tensor.Contents = ToContents(output);
            }

            response.Outputs.Add(tensor);
        }

        return response;
    }

    private static bool HasFp16(IReadOnlyList<InferenceTensor> outputs)
    {
        foreach (var output in outputs)
        {
            if (output.DataType == TensorDataType.Fp16)
            {
                return true;
            }
        }

        return false;
    }

    private static InferenceTensor FromRaw(string name, TensorDataType type, long[] shape, long count, ReadOnlyMemory<byte> data)
    {
        if (type == TensorDataType.Bytes)
        {
            var elements = new List<ReadOnlyMemory<byte>>();
            var offset = 0;
            while (offset < data.Length)
            {
                if (data.Length - offset < 4)
                {
                    throw Invalid($"input '{name}': raw BYTES contents end inside an element's 4-byte length");
                }

                var length = BinaryPrimitives.ReadUInt32LittleEndian(data.Span[offset..]);
                if (length > data.Length - offset - 4)
                {
                    throw Invalid($"input '{name}': a raw BYTES element says {length} bytes, but only {data.Length - offset - 4} follow");
                }

                elements.Add(data.Slice(offset + 4, (int)length));
                offset += 4 + (int)length;
            }

            return elements.Count == count
                ? InferenceTensor.FromElements(name, shape, elements)
                : throw Invalid($"input '{name}': raw contents hold {elements.Count} BYTES elements; shape {TensorSpec.FormatShape(shape)} needs {count}");
        }

        var expected = count * type.ElementSize();
        return data.Length == expected
            ? InferenceTensor.FromBytes(name, type, shape, data)
            : throw Invalid($"unexpected size for input '{name}': raw contents have {data.Length} bytes; {type.ToProtocolName()} {TensorSpec.FormatShape(shape)} needs {expected}");
    }

    private static InferenceTensor FromContents(string name, TensorDataType type, long[] shape, long count, InferTensorContents? contents)
    {
        contents ??= new InferTensorContents();
        switch (type)
        {
            case TensorDataType.Bytes:
                Expect(name, shape, count, contents.BytesContents.Count, "bytes_contents");
                return InferenceTensor.FromElements(name, shape, [.. contents.BytesContents.Select(b => b.Memory)]);
            case TensorDataType.Bool:
                Expect(name, shape, count, contents.BoolContents.Count, "bool_contents");
                return InferenceTensor.FromBytes(name, type, shape, contents.BoolContents.Select(b => b ? (byte)1 : (byte)0).ToArray());
            case TensorDataType.Int8:
                return Narrow<int, sbyte>(name, type, shape, count, contents.IntContents, "int_contents", v => checked((sbyte)v));
            case TensorDataType.Int16:
                return Narrow<int, short>(name, type, shape, count, contents.IntContents, "int_contents", v => checked((short)v));
            case TensorDataType.Int32:
                return Narrow(name, type, shape, count, contents.IntContents, "int_contents", v => v);
            case TensorDataType.Int64:
                return Narrow(name, type, shape, count, contents.Int64Contents, "int64_contents", v => v);
            case TensorDataType.UInt8:
                return Narrow<uint, byte>(name, type, shape, count, contents.UintContents, "uint_contents", v => checked((byte)v));
            case TensorDataType.UInt16:
                return Narrow<uint, ushort>(name, type, shape, count, contents.UintContents, "uint_contents", v => checked((ushort)v));
            case TensorDataType.UInt32:
                return Narrow(name, type, shape, count, contents.UintContents, "uint_contents", v => v);
            case TensorDataType.UInt64:
                return Narrow(name, type, shape, count, contents.Uint64Contents, "uint64_contents", v => v);
            case TensorDataType.Fp32:
                return Narrow(name, type, shape, count, contents.Fp32Contents, "fp32_contents", v => v);
            case TensorDataType.Fp64:
                return Narrow(name, type, shape, count, contents.Fp64Contents, "fp64_contents", v => v);
            default:
                throw Invalid($"input '{name}': {type.ToProtocolName()} has no typed contents field; send it in raw_input_contents");
        }
    }

    private static InferenceTensor Narrow<TIn, TOut>(string name, TensorDataType type, long[] shape, long count, IReadOnlyList<TIn> values, string field, Func<TIn, TOut> convert)
        where TOut : unmanaged
    {
        Expect(name, shape, count, values.Count, field);
        var data = new TOut[values.Count];
        try
        {
            for (var i = 0; i < data.Length; i++)
            {
                data[i] = convert(values[i]);
            }
        }
        catch (OverflowException)
        {
            throw Invalid($"input '{name}': a value in {field} does not fit {type.ToProtocolName()}");
        }

        return InferenceTensor.FromBytes(name, type, shape, MemoryMarshal.AsBytes(data.AsSpan()).ToArray());
    }

    private static void Expect(string name, long[] shape, long count, int given, string field)
    {
        if (given != count)
        {
            throw Invalid($"input '{name}': contents.{field} has {given} values; shape {TensorSpec.FormatShape(shape)} needs {count}");
        }
    }

    private static InferTensorContents ToContents(InferenceTensor output)
    {
        var contents = new InferTensorContents();
        switch (output.DataType)
        {
            case TensorDataType.Bytes: contents.BytesContents.AddRange(output.Elements.Select(e => ByteString.CopyFrom(e.Span))); break;
            case TensorDataType.Bool: foreach (var b in output.Data.Span) contents.BoolContents.Add(b != 0); break;
            case TensorDataType.Int8: foreach (var v in output.Span<sbyte>()) contents.IntContents.Add(v); break;
            case TensorDataType.Int16: foreach (var v in output.Span<short>()) contents.IntContents.Add(v); break;
            case TensorDataType.Int32: contents.IntContents.AddRange(output.Span<int>().ToArray()); break;
            case TensorDataType.Int64: contents.Int64Contents.AddRange(output.Span<long>().ToArray()); break;
            case TensorDataType.UInt8: foreach (var v in output.Data.Span) contents.UintContents.Add(v); break;
            case TensorDataType.UInt16: foreach (var v in output.Span<ushort>()) contents.UintContents.Add(v); break;
            case TensorDataType.UInt32: contents.UintContents.AddRange(output.Span<uint>().ToArray()); break;
            case TensorDataType.UInt64: contents.Uint64Contents.AddRange(output.Span<ulong>().ToArray()); break;
            case TensorDataType.Fp32: contents.Fp32Contents.AddRange(output.Span<float>().ToArray()); break;
            case TensorDataType.Fp64: contents.Fp64Contents.AddRange(output.Span<double>().ToArray()); break;
            default: throw new InvalidOperationException($"{output.DataType} outputs go raw");
        }

        return contents;
    }

    /// <summary>The elements <paramref name="shape"/> holds, within the HTTP API's bound (<see cref="int.MaxValue"/> elements).</summary>
    private static long ElementCount(string name, long[] shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                throw Invalid($"input '{name}': shape {TensorSpec.FormatShape(shape)} has a negative dimension");
            }

            count = d == 0 || count == 0 ? 0
                : count <= int.MaxValue / d ? count * d
                : throw Invalid($"input '{name}': shape {TensorSpec.FormatShape(shape)} has too many elements (more than {int.MaxValue})");
        }

        return count;
    }

    internal static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    /// <summary>BYTES elements each behind a 4-byte little-endian length, as Triton sends them raw.</summary>
    internal static ByteString LengthPrefixed(InferenceTensor tensor) => UnsafeByteOperations.UnsafeWrap(InferResponseWriter.LengthPrefixed(tensor));
}
