using System.Runtime.InteropServices;
using static EdgeMl.Testing.Distribution.ProtobufWriter;

namespace EdgeMl.Testing.Distribution;

/// <summary>
/// Small ONNX models written as protobuf bytes (field numbers from onnx.proto3, opset 14), for inputs the fixture
/// models do not have: INT64 token ids, BOOL masks, a scalar control input, a state carried from call to call.
/// </summary>
public static class OnnxGraphs
{
    private const int Float = 1;
    private const int Int64 = 7;
    private const int Bool = 9;

    /// <summary>
    /// <c>ids</c> INT64 [1,n], <c>mask</c> BOOL [1,n] and the scalar <c>n</c> INT64 []; <c>y</c> INT64 [n] = ids × mask,
    /// flattened to the length <c>n</c> says (Reshape with allowzero). Zeros are not a valid input: <c>n</c> = 0 cannot reshape [1,1] (a model
    /// with a control scalar, as a sample rate is).
    /// </summary>
    public static byte[] MaskedIds()
    {
        byte[][] nodes =
        [
            Node("Unsqueeze", ["n", "axes0"], ["length"]),
            Node("Reshape", ["ids", "length"], ["flat"], IntAttribute("allowzero", 1)),
            Node("Cast", ["mask"], ["mask64"], IntAttribute("to", Int64)),
            Node("Reshape", ["mask64", "length"], ["maskFlat"], IntAttribute("allowzero", 1)),
            Node("Mul", ["flat", "maskFlat"], ["y"]),
        ];
        return Model(
            nodes,
            [Initializer("axes0", Int64, [1], MemoryMarshal.AsBytes<long>([0]).ToArray())],
            [Value("ids", Int64, [1, -1]), Value("mask", Bool, [1, -1]), Value("n", Int64, [])],
            [Value("y", Int64, [-1])]);
    }

    /// <summary><c>y</c> = <c>x</c>, FP32 [n, <paramref name="width"/>]: an output as large as the input asks.</summary>
    public static byte[] Echo(int width) =>
        Model([Node("Identity", ["x"], ["y"])], [], [Value("x", Float, [-1, width])], [Value("y", Float, [-1, width])]);

    /// <summary>
    /// A recurrent model: <c>stateN</c> = 0.5 × <c>state</c> + <c>x</c> and <c>y</c> = 2 × <c>stateN</c>, all FP32
    /// [1, <paramref name="width"/>]; the caller (or the server's sequence) feeds <c>stateN</c> back as the next call's <c>state</c>.
    /// </summary>
    public static byte[] Accumulator(int width = 2)
    {
        byte[][] nodes =
        [
            Node("Mul", ["state", "half"], ["decayed"]),
            Node("Add", ["decayed", "x"], ["stateN"]),
            Node("Add", ["stateN", "stateN"], ["y"]),
        ];
        return Model(
            nodes,
            [Initializer("half", Float, [], MemoryMarshal.AsBytes<float>([0.5f]).ToArray())],
            [Value("x", Float, [1, width]), Value("state", Float, [1, width])],
            [Value("y", Float, [1, width]), Value("stateN", Float, [1, width])]);
    }

    private static byte[] Model(byte[][] nodes, byte[][] initializers, byte[][] inputs, byte[][] outputs)
    {
        byte[] graph =
        [
            .. nodes.SelectMany(n => Field(1, n)),
            .. Text(2, "g"),
            .. initializers.SelectMany(i => Field(5, i)),
            .. inputs.SelectMany(i => Field(11, i)),
            .. outputs.SelectMany(o => Field(12, o)),
        ];
        return [.. VarintField(1, 8), .. Field(8, VarintField(2, 14)), .. Field(7, graph)];
    }

    private static byte[] Node(string op, string[] inputs, string[] outputs, byte[]? attribute = null) =>
    [
        .. inputs.SelectMany(i => Text(1, i)),
        .. outputs.SelectMany(o => Text(2, o)),
        .. Text(4, op),
        .. attribute is null ? [] : Field(5, attribute),
    ];

    private static byte[] IntAttribute(string name, long value) => [.. Text(1, name), .. VarintField(3, (ulong)value), .. VarintField(20, 2)];

    private static byte[] Initializer(string name, int type, long[] dims, byte[] raw) =>
        [.. dims.SelectMany(d => VarintField(1, (ulong)d)), .. VarintField(2, (ulong)type), .. Text(8, name), .. Field(9, raw)];

    /// <summary>A tensor value: -1 for a dynamic dimension (named), an empty shape for a scalar.</summary>
    private static byte[] Value(string name, int type, long[] shape)
    {
        byte[] dims = [.. shape.SelectMany((d, i) => Field(1, d < 0 ? Text(2, $"{name}_{i}") : VarintField(1, (ulong)d)))];
        byte[] tensor = [.. VarintField(1, (ulong)type), .. Field(2, dims)];
        return [.. Text(1, name), .. Field(2, Field(1, tensor))];
    }
}
