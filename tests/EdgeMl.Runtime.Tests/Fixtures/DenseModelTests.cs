using EdgeMl.Testing.Distribution;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Runtime.Tests.Fixtures;

/// <summary>The few-KB benchmark model the latency harness builds: ONNX Runtime loads it and it computes what its layers say.</summary>
public sealed class DenseModelTests
{
    [Fact]
    public void Runs_with_the_declared_signature_and_the_same_output_for_the_same_seed()
    {
        using var session = new InferenceSession(OnnxFiles.Dense(768, 64, 16, seed: 1));
        Assert.Equal([1, 768], session.InputMetadata["x"].Dimensions);
        Assert.Equal([1, 16], session.OutputMetadata["y"].Dimensions);

        var input = Enumerable.Range(0, 768).Select(i => (i % 7) / 7f).ToArray();
        using var value = OrtValue.CreateTensorValueFromMemory(input, [1, 768]);
        using var results = session.Run(new RunOptions(), ["x"], [value], ["y"]);
        var output = results[0].GetTensorDataAsSpan<float>().ToArray();
        Assert.Equal(16, output.Length);
        Assert.Contains(output, v => v != 0);

        using var again = new InferenceSession(OnnxFiles.Dense(768, 64, 16, seed: 1));
        using var value2 = OrtValue.CreateTensorValueFromMemory(input, [1, 768]);
        using var results2 = again.Run(new RunOptions(), ["x"], [value2], ["y"]);
        Assert.Equal(output, results2[0].GetTensorDataAsSpan<float>().ToArray());
    }
}
