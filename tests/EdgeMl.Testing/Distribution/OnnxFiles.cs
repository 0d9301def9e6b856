using static EdgeMl.Testing.Distribution.ProtobufWriter;

namespace EdgeMl.Testing.Distribution;

/// <summary>ONNX files written as protobuf bytes (field numbers from onnx.proto3), for what the fixture models cannot show.</summary>
public static class OnnxFiles
{
    /// <summary>
    /// A complete model: one Identity node from an FP32 input named <paramref name="inputName"/> of shape [1, 4]
    /// to the output <c>y</c>, opset 13. ONNX Runtime loads and runs it.
    /// </summary>
    public static byte[] Identity(string inputName)
    {
        byte[] shape = [.. Field(1, VarintField(1, 1)), .. Field(1, VarintField(1, 4))];
        byte[] type = Field(1, [.. VarintField(1, 1), .. Field(2, shape)]);
        byte[] node = [.. Text(1, inputName), .. Text(2, "y"), .. Text(4, "Identity")];
        byte[] graph =
        [
            .. Field(1, node), .. Text(2, "identity"),
            .. Field(11, [.. Text(1, inputName), .. Field(2, type)]),
            .. Field(12, [.. Text(1, "y"), .. Field(2, type)]),
        ];
        return [.. VarintField(1, 8), .. Field(8, VarintField(2, 13)), .. Field(7, graph)];
    }

    /// <summary>
    /// A small dense network, opset 13: input <c>x</c> FP32 [1, <paramref name="inputs"/>] through two
    /// MatMul+Add+Relu layers of <paramref name="hidden"/> units to the output <c>y</c> FP32 [1, <paramref name="outputs"/>],
    /// weights seeded. A model with an input of a few KB and a run of a few hundred microseconds, as an audio frame
    /// or a sensor window is, for the latency benchmarks.
    /// </summary>
    public static byte[] Dense(int inputs, int hidden, int outputs, int seed)
    {
        var random = new Random(seed);
        byte[] Weights(string name, params int[] dims)
        {
            var count = dims.Aggregate(1, (a, d) => a * d);
            var data = new float[count];
            var scale = 1f / MathF.Sqrt(dims[0]);
            for (var i = 0; i < count; i++)
            {
                data[i] = ((float)random.NextDouble() - 0.5f) * 2 * scale;
            }

            byte[] tensor = [.. dims.SelectMany(d => VarintField(1, (ulong)d)), .. VarintField(2, 1), .. Text(8, name), .. Field(9, System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()).ToArray())];
            return Field(5, tensor);
        }

        byte[] Node(string op, params string[] io) => Field(1, [.. io[..^1].SelectMany(i => Text(1, i)), .. Text(2, io[^1]), .. Text(4, op)]);
        byte[] Value(string name, int width)
        {
            byte[] shape = [.. Field(1, VarintField(1, 1)), .. Field(1, VarintField(1, (ulong)width))];
            return [.. Text(1, name), .. Field(2, Field(1, [.. VarintField(1, 1), .. Field(2, shape)]))];
        }

        byte[] graph =
        [
            .. Node("MatMul", "x", "w1", "m1"), .. Node("Add", "m1", "b1", "a1"), .. Node("Relu", "a1", "h1"),
            .. Node("MatMul", "h1", "w2", "m2"), .. Node("Add", "m2", "b2", "a2"), .. Node("Relu", "a2", "h2"),
            .. Node("MatMul", "h2", "w3", "m3"), .. Node("Add", "m3", "b3", "y"),
            .. Text(2, "dense"),
            .. Weights("w1", inputs, hidden), .. Weights("b1", hidden),
            .. Weights("w2", hidden, hidden), .. Weights("b2", hidden),
            .. Weights("w3", hidden, outputs), .. Weights("b3", outputs),
            .. Field(11, Value("x", inputs)), .. Field(12, Value("y", outputs)),
        ];
        return [.. VarintField(1, 8), .. Field(8, VarintField(2, 13)), .. Field(7, graph)];
    }

    /// <summary>
    /// The model with one more initializer whose data lives in an external file. Protobuf merges an embedded
    /// message appended at the end, so appending a ModelProto.graph field adds the initializer to the graph.
    /// </summary>
    public static byte[] WithExternalData(byte[] model, string location) => [.. model, .. Field(7, Field(5, ExternalTensor(location)))];

    /// <summary>The model with a model-local function whose Constant node holds a tensor with external data.</summary>
    public static byte[] WithExternalDataInFunction(byte[] model, string location)
    {
        byte[] attribute = [.. Text(1, "value"), .. VarintField(20, 4), .. Field(5, ExternalTensor(location))];
        byte[] node = [.. Text(2, "c"), .. Text(4, "Constant"), .. Field(5, attribute)];
        byte[] function = [.. Text(1, "f"), .. Text(5, "c"), .. Field(7, node), .. Text(10, "local")];
        return [.. model, .. Field(25, function)];
    }

    /// <summary>The model with training information whose initialization graph has an initializer with external data.</summary>
    public static byte[] WithExternalDataInTrainingInfo(byte[] model, string location) =>
        [.. model, .. Field(20, Field(1, Field(5, ExternalTensor(location))))];

    // TensorProto: name, external_data { location }, data_location EXTERNAL.
    private static byte[] ExternalTensor(string location) =>
        [.. Text(8, "stolen"), .. Field(13, [.. Text(1, "location"), .. Text(2, location)]), .. VarintField(14, 1)];
}
