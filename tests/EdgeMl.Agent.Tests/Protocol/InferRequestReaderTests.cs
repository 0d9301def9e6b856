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

    /// <summary>The model's names repeat on every request: read as the model's own strings, escaped or not; others as new ones.</summary>
    [Fact]
    public void Read_NamesTheModelHas_AreTheModelsStrings()
    {
        string[] names = ["x", "y"];
        var body = Encoding.UTF8.GetBytes(
            """{"inputs":[{"name":"\u0078","shape":[1],"datatype":"FP32","data":[1]},{"name":"z","shape":[1],"datatype":"FP32","data":[2]}],"outputs":[{"name":"y"},{"name":"w"}]}""");

        var request = InferRequestReader.Read(body, null, names).Request;

        Assert.Same(names[0], request.Inputs[0].Name);
        Assert.Equal("z", request.Inputs[1].Name);
        Assert.Same(names[1], request.Outputs[0]);
        Assert.Equal("w", request.Outputs[1]);
        Assert.Equal(["x", "z"], InferRequestReader.Read(body, null).Request.Inputs.Select(i => i.Name));
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
    [InlineData("BOOL", TensorDataType.Bool)]
    [InlineData("UINT64", TensorDataType.UInt64)]
    [InlineData("INT8", TensorDataType.Int8)]
    [InlineData("FP16", TensorDataType.Fp16)]
    [InlineData("FP64", TensorDataType.Fp64)]
    [InlineData("BYTES", TensorDataType.Bytes)]
    [InlineData("STRING", TensorDataType.Bytes)]
    public void Read_EveryDatatypeName_AndStringForBytes(string name, TensorDataType expected)
    {
        var header = Encoding.UTF8.GetBytes($$$"""{"inputs":[{"name":"t","shape":[0],"datatype":"{{{name}}}","parameters":{"binary_data_size":0}}]}""");

        var call = InferRequestReader.Read(header, header.Length);

        Assert.Equal(expected, call.Request.Inputs[0].DataType);
    }

    [Theory]
    [InlineData("\"fp32\"", "datatype 'fp32' is not one of BOOL")]
    [InlineData("\"FP32 \"", "datatype 'FP32 ' is not one of BOOL")]
    [InlineData("32", "datatype '' is not one of BOOL")]
    public void Read_UnknownDatatype_IsRefusedByName(string datatype, string expected)
    {
        var body = Encoding.UTF8.GetBytes($$$"""{"inputs":[{"name":"t","shape":[1],"datatype":{{{datatype}}},"data":[1]}]}""");

        var e = Assert.Throws<ProtocolException>(() => InferRequestReader.Read(body, null));

        Assert.StartsWith($"input 't': {expected}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_OutputsSomeFlagged_EachAsAsked_OthersByDefault()
    {
        var body = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"b","shape":[1],"datatype":"BOOL","data":[true]}],"outputs":[{"name":"a"},{"name":"b","parameters":{"binary_data":true}},{"name":"c"}]}""");

        var call = InferRequestReader.Read(body, null);

        Assert.Equal(["a", "b", "c"], call.Request.Outputs);
        Assert.Equal([false, true, false], call.Request.Outputs.Select(call.IsBinary));
        Assert.Equal(1, call.BinaryOutputs.Count);
    }

    [Fact]
    public void Read_ManyOutputs_AllKeptInOrderWithTheirChoices()
    {
        var outputs = string.Join(",", Enumerable.Range(0, 20).Select(i => $$$"""{"name":"o{{{i}}}","parameters":{"binary_data":{{{(i % 3 == 0 ? "true" : "false")}}}}}"""));
        var body = Encoding.UTF8.GetBytes($$"""{"inputs":[{"name":"b","shape":[1],"datatype":"BOOL","data":[true]}],"outputs":[{{outputs}},{"name":"last"}]}""");

        var call = InferRequestReader.Read(body, null);

        Assert.Equal([.. Enumerable.Range(0, 20).Select(i => $"o{i}"), "last"], call.Request.Outputs);
        Assert.Equal([.. Enumerable.Range(0, 20).Select(i => i % 3 == 0), false], call.Request.Outputs.Select(call.IsBinary));
    }

    [Fact]
    public void Read_MoreOutputsThanBits_EachKeepsItsChoice_TheLastHolds()
    {
        var outputs = string.Join(",", Enumerable.Range(0, 70).Select(i => $$$"""{"name":"o{{{i}}}","parameters":{"binary_data":{{{(i % 2 == 0 ? "true" : "false")}}}}}"""));
        var body = Encoding.UTF8.GetBytes($$$"""{"inputs":[{"name":"b","shape":[1],"datatype":"BOOL","data":[true]}],"outputs":[{{{outputs}}},{"name":"o1","parameters":{"binary_data":true}},{"name":"o66"},{"name":"o67","parameters":{"binary_data":true}}]}""");

        var call = InferRequestReader.Read(body, null);

        Assert.Equal(72, call.BinaryOutputs.Count);
        Assert.Equal([.. Enumerable.Range(0, 70).Select(i => i % 2 == 0 || i is 1 or 67)], Enumerable.Range(0, 70).Select(i => call.IsBinary($"o{i}")));
        Assert.Null(call.BinaryOutputs.At(71));
        Assert.Null(call.BinaryOutputs.At(500));
    }

    [Theory]
    [InlineData("""{"outputs":[{"name":"y","parameters":{"binary_data":1}}]""", "output 'y' parameter 'binary_data' must be true or false")]
    [InlineData("""{"parameters":{"binary_data_output":"yes"}""", "request parameter 'binary_data_output' must be true or false")]
    public void Read_AFlagThatIsNotTrueOrFalse_IsRefusedByName(string start, string expected)
    {
        var body = Encoding.UTF8.GetBytes(start + ""","inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}""");

        var e = Assert.Throws<ProtocolException>(() => InferRequestReader.Read(body, null));

        Assert.Equal(expected, e.Message);
    }

    /// <summary>
    /// An output asked for binary, as Triton's clients ask on every request, costs the reader the request's array of
    /// output names and nothing more: no table of choices, no text of an error that did not happen.
    /// </summary>
    [Fact]
    public void Read_AnOutputAskedForBinary_CostsOnlyItsName()
    {
        string[] names = ["x", "softmax_0.tmp_0"];
        var input = """{"name":"x","shape":[1,4],"datatype":"FP32","parameters":{"binary_data_size":16}}""";
        var plain = Encoding.UTF8.GetBytes($$"""{"inputs":[{{input}}]}""");
        var asked = Encoding.UTF8.GetBytes($$$"""{"inputs":[{{{input}}}],"outputs":[{"name":"softmax_0.tmp_0","parameters":{"binary_data":true}}]}""");
        byte[] plainBody = [.. plain, .. new byte[16]];
        byte[] askedBody = [.. asked, .. new byte[16]];
        Assert.True(InferRequestReader.Read(askedBody, asked.Length, names).IsBinary("softmax_0.tmp_0"));
        _ = InferRequestReader.Read(plainBody, plain.Length, names);

        var before = GC.GetAllocatedBytesForCurrentThread();
        _ = InferRequestReader.Read(plainBody, plain.Length, names);
        var plainBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        _ = InferRequestReader.Read(askedBody, asked.Length, names);
        var askedBytes = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.InRange(askedBytes - plainBytes, 0, 32); // a string[1]
    }

    [Fact]
    public void Read_OutputNamedTwice_TheLastChoiceHolds()
    {
        var body = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"b","shape":[1],"datatype":"BOOL","data":[true]}],"outputs":[{"name":"a","parameters":{"binary_data":true}},{"name":"a","parameters":{"binary_data":false}}]}""");

        Assert.False(InferRequestReader.Read(body, null).IsBinary("a"));
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

    /// <summary>An 80-byte request must not make the reader allocate what its shape claims (2 GB here).</summary>
    [Theory]
    [InlineData("""{"inputs":[{"name":"x","shape":[268435455],"datatype":"FP64","data":[1]}]}""", "input 'x': data has 1 elements; shape needs 268435455")]
    [InlineData("""{"inputs":[{"name":"x","shape":[200000000],"datatype":"FP64","data":[[1],[2]]}]}""", "input 'x': data has 2 elements; shape needs 200000000")]
    [InlineData("""{"inputs":[{"name":"s","shape":[100000000],"datatype":"BYTES","data":["a"]}]}""", "input 's': data has 1 elements; shape needs 100000000")]
    public void Read_JsonShapeClaimingMoreThanItsValues_RefusedBeforeAllocating(string json, string expected)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var before = GC.GetAllocatedBytesForCurrentThread();

        var e = Assert.Throws<ProtocolException>(() => InferRequestReader.Read(body, null));

        Assert.Equal((400, expected), (e.StatusCode, e.Message));
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 1 << 20);
    }

    [Fact]
    public void Read_BinaryBytesShapeClaimingMoreElementsThanBytes_RefusedBeforeAllocating()
    {
        var header = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"s","shape":[2147483647],"datatype":"BYTES","parameters":{"binary_data_size":8}}]}""");
        byte[] body = [.. header, 1, 0, 0, 0, 0x61, 0, 0, 0];
        var before = GC.GetAllocatedBytesForCurrentThread();

        var e = Assert.Throws<ProtocolException>(() => InferRequestReader.Read(body, header.Length));

        Assert.Equal((400, "input 's': shape [2147483647] declares 2147483647 BYTES elements; 8 bytes hold at most 2"), (e.StatusCode, e.Message));
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 1 << 20);
    }

    [Fact]
    public void Read_BinarySizeDisagreesWithShape_RefusedNamingTheInput()
    {
        var header = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","shape":[1000000000],"datatype":"FP32","parameters":{"binary_data_size":8}}]}""");
        byte[] body = [.. header, 0, 0, 0, 0, 0, 0, 0, 0];

        var e = Assert.Throws<ProtocolException>(() => InferRequestReader.Read(body, header.Length));

        Assert.Equal((400, "input 'x': binary_data_size is 8 bytes; FP32 [1000000000] needs 4000000000"), (e.StatusCode, e.Message));
    }
    /// <summary>
    /// Found by the infer-json and infer-binary fuzz harnesses: a string that is not UTF-8 (or an escaped lone
    /// surrogate) parsed, then threw InvalidOperationException where it was read, which the API answered 500.
    /// </summary>
    [Theory]
    [InlineData(new byte[] { 0xFF }, "name")]
    [InlineData(new byte[] { 0xC3 }, "datatype")]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 }, "id")]
    [InlineData(new byte[] { (byte)'\\', (byte)'u', (byte)'d', (byte)'8', (byte)'0', (byte)'0' }, "id")]
    [InlineData(new byte[] { 0x80 }, "data")]
    public void Read_StringThatIsNotText_400NotACrash(byte[] bad, string where)
    {
        string[] parts = where switch
        {
            "name" => ["{\"inputs\":[{\"name\":\"x", "\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"a\"]}]}"],
            "datatype" => ["{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP", "\",\"shape\":[1],\"data\":[1]}]}"],
            "id" => ["{\"id\":\"", "\",\"inputs\":[]}"],
            _ => ["{\"inputs\":[{\"name\":\"x\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"", "\"]}]}"],
        };
        byte[] body = [.. Encoding.UTF8.GetBytes(parts[0]), .. bad, .. Encoding.UTF8.GetBytes(parts[1])];

        var json = Assert.Throws<ProtocolException>(() => InferRequestReader.Read(body, null));
        var binary = Assert.Throws<ProtocolException>(() => InferRequestReader.Read(body, body.Length));

        Assert.Equal(400, json.StatusCode);
        Assert.Equal("the request JSON has a string that is not valid UTF-8 text", json.Message);
        Assert.Equal(json.Message, binary.Message);
    }
    /// <summary>Found by the infer-binary fuzz harness: a size that is not a number threw InvalidOperationException, answered 500.</summary>
    [Theory]
    [InlineData("\"8\"")]
    [InlineData("true")]
    [InlineData("null")]
    [InlineData("[8]")]
    [InlineData("8.5")]
    public void Read_BinaryDataSizeThatIsNotAnInteger_400NamingTheInput(string size)
    {
        var header = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","shape":[2],"datatype":"INT32","parameters":{"binary_data_size":""" + size + "}}]}");
        byte[] body = [.. header, 1, 0, 0, 0, 2, 0, 0, 0];

        var e = Assert.Throws<ProtocolException>(() => InferRequestReader.Read(body, header.Length));

        Assert.Equal(400, e.StatusCode);
        Assert.Equal("input 'x': binary_data_size must be a non-negative integer", e.Message);
    }
}
