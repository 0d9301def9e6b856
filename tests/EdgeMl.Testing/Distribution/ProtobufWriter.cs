using System.Text;

namespace EdgeMl.Testing.Distribution;

/// <summary>The few protobuf wire-format pieces the hand-built ONNX files need (<see cref="OnnxGraphs"/>, <see cref="OnnxFiles"/>).</summary>
internal static class ProtobufWriter
{
    /// <summary>A length-delimited field (wire type 2).</summary>
    public static byte[] Field(int number, byte[] body) => [.. Varint((ulong)((number << 3) | 2)), .. Varint((ulong)body.Length), .. body];

    /// <summary>A varint field (wire type 0).</summary>
    public static byte[] VarintField(int number, ulong value) => [.. Varint((ulong)(number << 3)), .. Varint(value)];

    public static byte[] Text(int number, string text) => Field(number, Encoding.UTF8.GetBytes(text));

    public static byte[] Varint(ulong v)
    {
        var bytes = new List<byte>();
        do
        {
            var b = (byte)(v & 0x7f);
            v >>= 7;
            bytes.Add(v == 0 ? b : (byte)(b | 0x80));
        }
        while (v != 0);
        return [.. bytes];
    }
}
