using System.Text;
using EdgeMl.Agent.Protocol;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Tests.Protocol;

public sealed class InferRequestReaderTests
{
    /// <summary>The binary request of the protocol reference (§15.2), byte for byte, as tritonclient sends it.</summary>
    [Fact]
    public void Read_ReferenceBinaryExample_SlicesInt32AndLengthPrefixedBytes()
    {
        var header = Encoding.UTF8.GetBytes(
            """{"inputs":[{"name":"INPUT0","shape":[1,2],"datatype":"INT32","parameters":{"binary_data_size":8}},{"name":"INPUT1","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":10}}],"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}}]}""");
        byte[] body = [.. header, 0x01, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0x68, 0x69, 0, 0, 0, 0];

        var call = InferRequestReader.Read(body, header.Length);

        var int32 = call.Request.Inputs[0];
        Assert.Equal(TensorDataType.Int32, int32.DataType);
        Assert.Equal([1L, 2L], int32.Shape);
        Assert.Equal([1, -2], int32.Span<int>().ToArray());
        var bytes = call.Request.Inputs[1];
        Assert.Equal(TensorDataType.Bytes, bytes.DataType);
        Assert.Equal(["hi", ""], bytes.Elements.Select(e => Encoding.UTF8.GetString(e.Span)));
        Assert.Equal(["OUTPUT0"], call.Request.Outputs);
        Assert.True(call.IsBinary("OUTPUT0"));
    }

    [Fact]
    public void Read_BytesElementLengthBeyondData_IsRefused()
    {
        var header = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"s","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":6}}]}""");
        byte[] body = [.. header, 0x09, 0, 0, 0, 0x68, 0x69];

        var e = Assert.Throws<ProtocolException>(() => InferRequestReader.Read(body, header.Length));

        Assert.Equal("input 's': BYTES element 0 claims 9 bytes, 2 remain", e.Message);
    }

    [Fact]
    public void Read_ListedOutputWithoutFlag_FollowsRequestDefault()
    {
        var body = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"b","shape":[2],"datatype":"BOOL","data":[true,false]}],"outputs":[{"name":"a"},{"name":"b","parameters":{"binary_data":false}}],"parameters":{"binary_data_output":true}}""");

        var call = InferRequestReader.Read(body, null);

        Assert.True(call.IsBinary("a"));
        Assert.False(call.IsBinary("b"));
        Assert.Equal([1, 0], call.Request.Inputs[0].Data.ToArray());
    }

    [Theory]
    [InlineData("""{"inputs":[{"name":"b","shape":[1],"datatype":"BOOL","data":[1]}]}""", "input 'b': element 0 (1) is not a valid BOOL value")]
    [InlineData("""{"inputs":[{"name":"u","shape":[1],"datatype":"UINT8","data":[-1]}]}""", "input 'u': element 0 (-1) is not a valid UINT8 value")]
    [InlineData("""{"inputs":[{"name":"h","shape":[1],"datatype":"FP16","data":[1.5]}]}""", "input 'h': FP16 data cannot be sent as JSON; send it as binary data")]
    [InlineData("""{"inputs":[{"name":"x","shape":[-1],"datatype":"FP32","data":[]}]}""", "input 'x': shape elements must be non-negative integers")]
    [InlineData("""{"id":7,"inputs":[]}""", "'id' must be a string")]
    [InlineData("""[]""", "the request must be a JSON object")]
    public void Read_ValuesThatDoNotFit_AreRefusedByName(string json, string expected)
    {
        var e = Assert.Throws<ProtocolException>(() => InferRequestReader.Read(Encoding.UTF8.GetBytes(json), null));

        Assert.Equal((400, expected), (e.StatusCode, e.Message));
    }
}
