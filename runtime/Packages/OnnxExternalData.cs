using System.Text;

namespace EdgeMl.Runtime.Packages;

/// <summary>
/// Finds the external-data file names an ONNX model refers to (<c>TensorProto.external_data</c> "location"
/// entries), walking the protobuf wire format directly: the main graph, model-local functions and training graphs,
/// with their initializers, node attributes and subgraphs. ONNX Runtime loads every one of them.
/// </summary>
internal static class OnnxExternalData
{
    private const int MaxDepth = 64;

    public static IReadOnlyList<string> FindLocations(ReadOnlySpan<byte> model)
    {
        var found = new List<string>();
        Walk(model, Kind.Model, found, 0);
        return found;
    }

    private enum Kind
    {
        Model,
        TrainingInfo,
        Function,
        Graph,
        Node,
        Attribute,
        Tensor,
        SparseTensor,
        Entry,
    }

    private static void Walk(ReadOnlySpan<byte> data, Kind kind, List<string> found, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new FormatException("ONNX model nests deeper than " + MaxDepth);
        }

        string? key = null;
        string? value = null;
        var pos = 0;
        while (pos < data.Length)
        {
            var tag = ReadVarint(data, ref pos);
            var field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0: ReadVarint(data, ref pos); break;
                case 1: pos += 8; break;
                case 5: pos += 4; break;
                case 2:
                    var length = (int)ReadVarint(data, ref pos);
                    if (length < 0 || pos + length > data.Length)
                    {
                        throw new FormatException("ONNX model is truncated");
                    }

                    var body = data.Slice(pos, length);
                    pos += length;
                    if (kind == Kind.Entry)
                    {
                        if (field == 1)
                        {
                            key = Encoding.UTF8.GetString(body);
                        }
                        else if (field == 2)
                        {
                            value = Encoding.UTF8.GetString(body);
                        }
                    }
                    else if (Child(kind, field) is { } child)
                    {
                        Walk(body, child, found, depth + 1);
                    }

                    break;
                default: throw new FormatException($"ONNX model has an unsupported wire type in field {field}");
            }

            if (pos > data.Length)
            {
                throw new FormatException("ONNX model is truncated");
            }
        }

        if (kind == Kind.Entry && key == "location" && value is not null)
        {
            found.Add(value);
        }
    }

    // Field numbers from onnx.proto3: only the ones that can lead to a TensorProto.
    private static Kind? Child(Kind parent, int field) => (parent, field) switch
    {
        (Kind.Model, 7) => Kind.Graph,
        (Kind.Model, 20) => Kind.TrainingInfo,
        (Kind.Model, 25) => Kind.Function,
        (Kind.TrainingInfo, 1 or 2) => Kind.Graph,
        (Kind.Function, 7) => Kind.Node,
        (Kind.Function, 11) => Kind.Attribute,
        (Kind.Graph, 1) => Kind.Node,
        (Kind.Graph, 5) => Kind.Tensor,
        (Kind.Graph, 15) => Kind.SparseTensor,
        (Kind.Node, 5) => Kind.Attribute,
        (Kind.Attribute, 5 or 10) => Kind.Tensor,
        (Kind.Attribute, 6 or 11) => Kind.Graph,
        (Kind.Attribute, 22 or 23) => Kind.SparseTensor,
        (Kind.SparseTensor, 1 or 2) => Kind.Tensor,
        (Kind.Tensor, 13) => Kind.Entry,
        _ => null,
    };

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int pos)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (pos >= data.Length)
            {
                throw new FormatException("ONNX model is truncated");
            }

            var b = data[pos++];
            result |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }

        throw new FormatException("ONNX model has a malformed varint");
    }
}
