using System.Text.Json;
using EdgeMl.Runtime.Packages;

namespace EdgeMl.Agent.Tests.Drift;

public class DriftBaselineTests
{
    [Fact]
    public void Parse_ManifestBaseline_TypedDistributions()
    {
        using var doc = JsonDocument.Parse("""
            {
              "samples": 5000,
              "inputs": [
                { "tensor": "x", "statistic": "mean", "edges": [0, 0.5, 1], "counts": [10, 30] },
                { "tensor": "t", "statistic": "feature", "index": 3, "edges": [0, 1], "counts": [1] }
              ],
              "outputs": [ { "tensor": "p", "statistic": "class", "labels": ["0", "180"], "counts": [0.7, 0.3] } ]
            }
            """);
        var baseline = DriftBaseline.Parse(doc.RootElement);
        Assert.Equal(5000, baseline.Samples);
        Assert.Equal(BaselineStatistic.Mean, baseline.Inputs[0].Statistic);
        Assert.Equal("x:mean", baseline.Inputs[0].Key);
        Assert.Equal("t:feature[3]", baseline.Inputs[1].Key);
        Assert.Equal(["0", "180"], baseline.Outputs[0].Labels!);
        Assert.Equal(2, baseline.Outputs[0].Bins);
    }

    [Fact]
    public void Parse_BrokenDistributions_ListsEveryProblem()
    {
        using var doc = JsonDocument.Parse("""
            {
              "inputs": [
                { "tensor": "x", "statistic": "mean", "edges": [0, 1], "counts": [1, 1] },
                { "tensor": "x", "statistic": "std", "edges": [1, 0, 2], "counts": [1, 1] },
                { "tensor": "t", "statistic": "feature", "edges": [0, 1], "counts": [1] }
              ],
              "outputs": [ { "tensor": "p", "statistic": "class", "counts": [0, 0] } ]
            }
            """);
        var e = Assert.Throws<ModelManifestException>(() => DriftBaseline.Parse(doc.RootElement));
        Assert.Equal(4, e.Problems.Count);
        Assert.Contains(e.Problems, p => p.Contains("one more entry", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.Contains("strictly ascending", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.Contains("index", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.Contains("all be zero", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_UnknownStatistic_Problem()
    {
        using var doc = JsonDocument.Parse("""{ "inputs": [ { "tensor": "x", "statistic": "median", "counts": [1] } ] }""");
        Assert.Throws<ModelManifestException>(() => DriftBaseline.Parse(doc.RootElement));
    }

    [Fact]
    public void ToJson_RoundTrip_Equal()
    {
        var baseline = new DriftBaseline
        {
            Samples = 3,
            Outputs = [new BaselineDistribution { Tensor = "p", Statistic = BaselineStatistic.Class, Counts = [1, 2] }],
        };
        var json = baseline.ToJson();
        Assert.Equal("class", json.GetProperty("outputs")[0].GetProperty("statistic").GetString());
        var back = DriftBaseline.Parse(json);
        Assert.Equal(baseline.Outputs[0].Counts, back.Outputs[0].Counts);
        Assert.Equal(baseline.Outputs[0].Statistic, back.Outputs[0].Statistic);
    }

    [Fact]
    public void FromManifest_NoBaseline_Null()
    {
        var manifest = new ModelManifest { Name = "m", Version = 1, Entry = "m.onnx", Files = [] };
        Assert.Null(DriftBaseline.FromManifest(manifest));
    }
}
