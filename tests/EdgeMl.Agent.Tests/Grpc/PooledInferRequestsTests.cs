using EdgeMl.Agent.Grpc;
using Google.Protobuf;
using Inference;

namespace EdgeMl.Agent.Tests.Grpc;

public sealed class PooledInferRequestsTests
{
    private static ModelInferRequest Full() => new()
    {
        ModelName = "ocr-cls",
        ModelVersion = "3",
        Id = "req-1",
        Parameters = { ["sequence_id"] = new InferParameter { Int64Param = 42 }, ["sequence_start"] = new InferParameter { BoolParam = true } },
        Inputs =
        {
            new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP32", Shape = { 1, 3 } },
            new ModelInferRequest.Types.InferInputTensor { Name = "mask", Datatype = "BOOL", Shape = { 2 } },
        },
        Outputs = { new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "y" } },
        RawInputContents = { ByteString.CopyFrom(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), ByteString.CopyFrom(1, 0) },
    };

    // The agent's message type and this project's (generated from the same .proto) are two types: compared as bytes.
    private static void Same(IMessage expected, IMessage actual) => Assert.Equal(expected.ToByteArray(), actual.ToByteArray());

    [Fact]
    public void Parse_SameMessageAsProtobuf()
    {
        var bytes = Full().ToByteArray();

        Same(ModelInferRequest.Parser.ParseFrom(bytes), PooledInferRequests.Parse(bytes));
    }

    [Fact]
    public void Parse_RawContentsBetweenOtherFields_SameMessageAsProtobuf()
    {
        // Fields may come in any order on the wire: raw contents first, then the rest, then more raw contents.
        var raw = new ModelInferRequest { RawInputContents = { ByteString.CopyFrom(9, 9, 9) } }.ToByteArray();
        var rest = Full().ToByteArray();
        byte[] bytes = [.. raw, .. rest, .. raw];

        var parsed = PooledInferRequests.Parse(bytes);

        Same(ModelInferRequest.Parser.ParseFrom(bytes), parsed);
        Assert.Equal(4, parsed.RawInputContents.Count);
    }

    [Fact]
    public void Parse_RawContentsAreViewsOfTheBuffer_NotCopies()
    {
        var bytes = Full().ToByteArray();

        var parsed = PooledInferRequests.Parse(bytes);
        var at = bytes.AsSpan().IndexOf((byte[])[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        bytes[at] = 99;

        Assert.Equal(99, parsed.RawInputContents[0].Span[0]);
    }

    [Fact]
    public void Parse_UnexpectedWireType_LeftToProtobuf()
    {
        // A group (proto3 has none) is an unknown field to protobuf, which skips it; so does this parser.
        byte[] bytes = [0x0B, 0x0C, .. Full().ToByteArray()];

        Same(ModelInferRequest.Parser.ParseFrom(bytes), PooledInferRequests.Parse(bytes));
    }

    [Theory]
    [InlineData(new byte[] { 0x3A, 0x05, 1, 2 })]          // raw_input_contents says 5 bytes, 2 follow
    [InlineData(new byte[] { 0x0A })]                       // model_name without its length
    [InlineData(new byte[] { 0x10, 0xFF })]                 // model_version's varint cut short
    public void Parse_Malformed_FailsAsProtobufDoes(byte[] bytes)
    {
        Assert.Throws<InvalidProtocolBufferException>(() => ModelInferRequest.Parser.ParseFrom(bytes));
        Assert.Throws<InvalidProtocolBufferException>(() => PooledInferRequests.Parse(bytes));
    }
}
