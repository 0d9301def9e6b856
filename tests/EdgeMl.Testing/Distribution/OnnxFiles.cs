using System.Text;

namespace EdgeMl.Testing.Distribution;

public static class OnnxFiles
{
    /// <summary>
    /// The model with one more initializer whose data lives in an external file. Protobuf merges an embedded
    /// message appended at the end, so appending a ModelProto.graph field adds the initializer to the graph.
    /// </summary>
    public static byte[] WithExternalData(byte[] model, string location)
    {
        byte[] entry = [.. Text(1, "location"), .. Text(2, location)];
        byte[] tensor = [.. Text(8, "stolen"), .. Field(13, entry), 14 << 3, 1];
        return [.. model, .. Field(7, Field(5, tensor))];
    }

    private static byte[] Field(int number, byte[] body) => [.. Varint((ulong)((number << 3) | 2)), .. Varint((ulong)body.Length), .. body];

    private static byte[] Text(int number, string text) => Field(number, Encoding.UTF8.GetBytes(text));

    private static byte[] Varint(ulong v)
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
