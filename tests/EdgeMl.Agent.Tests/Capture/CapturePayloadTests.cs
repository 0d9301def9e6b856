using EdgeMl.Agent.Capture;
using EdgeMl.CloudSync.Upload;

namespace EdgeMl.Agent.Tests.Capture;

public class CapturePayloadTests
{
    [Fact]
    public void Decode_Encoded_SameTensors()
    {
        var record = new CaptureRecord
        {
            Model = "m",
            Version = 1,
            Timestamp = DateTimeOffset.UnixEpoch,
            Inputs =
            [
                new UploadTensor("x·ü", "FP32", [1, -1, 300]) { Mean = 0.5, Std = 0.25, Min = -1, Max = 2 },
                new UploadTensor("s", "BYTES", [2]) { Data = new byte[300] },
            ],
            Outputs = [new UploadTensor("p", "FP32", [1, 2]) { Data = [1, 2, 3, 4, 5, 6, 7, 8] }],
        };

        var (inputs, outputs) = CapturePayload.Decode(CapturePayload.Encode(record));

        Assert.Equal("x·ü", inputs[0].Name);
        Assert.Equal([1L, -1L, 300L], inputs[0].Shape);
        Assert.Null(inputs[0].Data);
        Assert.Equal((0.5, 0.25, -1.0, 2.0), (inputs[0].Mean!.Value, inputs[0].Std!.Value, inputs[0].Min!.Value, inputs[0].Max!.Value));
        Assert.Equal("BYTES", inputs[1].Datatype);
        Assert.Equal(300, inputs[1].Data!.Length);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, outputs[0].Data);
        Assert.Null(outputs[0].Mean);
    }

    [Fact]
    public void Decode_UnknownFormat_Throws()
    {
        Assert.Throws<InvalidDataException>(() => CapturePayload.Decode([9, 0, 0]));
    }
}
