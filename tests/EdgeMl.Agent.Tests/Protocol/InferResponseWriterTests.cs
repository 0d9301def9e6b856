using System.Text;
using System.Text.Json;
using EdgeMl.Agent.Protocol;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Tests.Protocol;

public sealed class InferResponseWriterTests
{
    private static readonly byte[] A = [1, 2, 3, 4, 5, 6, 7, 8];
    private static readonly byte[] D = [0x00, 0x3c];

    /// <summary>The binary parts follow the header in the order it names them; BYTES go behind their lengths, FP16 always binary.</summary>
    [Fact]
    public void Build_MixedOutputs_PartsInTheHeadersOrder()
    {
        var call = InferRequestReader.Read(Encoding.UTF8.GetBytes(
            """{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}],"outputs":[{"name":"a","parameters":{"binary_data":true}},{"name":"b"},{"name":"c","parameters":{"binary_data":true}},{"name":"d"},{"name":"e","parameters":{"binary_data":true}}]}"""), null);
        using var result = InferenceResult.Success("m", 3, [
            InferenceTensor.FromBytes("a", TensorDataType.Fp32, [2], A),
            InferenceTensor.FromBytes("b", TensorDataType.Int32, [1], BitConverter.GetBytes(7)),
            InferenceTensor.FromElements("c", [2], [Encoding.UTF8.GetBytes("hi"), Array.Empty<byte>()]),
            InferenceTensor.FromBytes("d", TensorDataType.Fp16, [1], D),
            InferenceTensor.FromBytes("e", TensorDataType.Fp32, [0], Array.Empty<byte>()),
        ]);

        var response = InferResponseWriter.Build(call, result);

        Assert.Equal(4, response.BlobCount);
        Assert.Equal(A, response.Blob(0).ToArray());
        Assert.Equal([2, 0, 0, 0, (byte)'h', (byte)'i', 0, 0, 0, 0], response.Blob(1).ToArray());
        Assert.Equal(D, response.Blob(2).ToArray());
        Assert.True(response.Blob(3).IsEmpty);
        Assert.True(response.HasBinary);
        Assert.Equal(response.Json.Length + 8 + 10 + 2, response.Length);
        using var header = JsonDocument.Parse(response.Json);
        var outputs = header.RootElement.GetProperty("outputs").EnumerateArray().ToArray();
        Assert.Equal([8, 10, 2, 0], new[] { 0, 2, 3, 4 }.Select(i => outputs[i].GetProperty("parameters").GetProperty("binary_data_size").GetInt64()));
        Assert.Equal([7], outputs[1].GetProperty("data").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void Build_OnlyEmptyBinaryParts_IsPlainJson()
    {
        var call = InferRequestReader.Read(Encoding.UTF8.GetBytes(
            """{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}],"parameters":{"binary_data_output":true}}"""), null);
        using var result = InferenceResult.Success("m", 1, [InferenceTensor.FromBytes("e", TensorDataType.Fp32, [0], Array.Empty<byte>())]);

        var response = InferResponseWriter.Build(call, result);

        Assert.Equal(1, response.BlobCount);
        Assert.False(response.HasBinary);
        Assert.Equal(response.Json.Length, response.Length);
    }
}
