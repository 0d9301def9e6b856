using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Runtime.Tests;

/// <summary>The real PaddleOCR direction classifier, as the runtime tests use it.</summary>
internal static class Classifier
{
    public const string Name = "ocr-cls";

    public static ModelDefinition Definition(
        long version = 1,
        IReadOnlyList<GoldenSample>? golden = null,
        ProviderChainOptions? providers = null,
        ServingOptions? serving = null,
        ModelSessionOptions? session = null) => new()
        {
            Name = Name,
            Version = version,
            ModelPath = ModelFixtures.Classifier,
            Session = session ?? new ModelSessionOptions { IntraOpThreads = 1 },
            Providers = providers ?? ProviderChainOptions.CpuOnly,
            WarmUp = new WarmUpOptions { Runs = 2, Shapes = { ["x"] = ModelFixtures.ClassifierShape } },
            Golden = golden ?? [],
            Serving = serving ?? new ServingOptions(),
        };

    public static InferenceTensor Input(int seed, long batch = 1) =>
        InferenceTensor.Create("x", [batch, 3, 48, 192], ModelFixtures.SampleInput([batch, 3, 48, 192], seed));

    public static InferenceRequest Request(int seed, long batch = 1) => new([Input(seed, batch)]);

    /// <summary>What bare ONNX Runtime answers for the same input, the reference for every comparison.</summary>
    public static float[] BareRun(InferenceTensor input)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(ModelFixtures.Classifier, options);
        using var value = OrtValue.CreateTensorValueFromMemory(input.Span<float>().ToArray(), input.Shape.ToArray());
        using var results = session.Run(new RunOptions(), ["x"], [value], [ModelFixtures.ClassifierOutput]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    public static GoldenSample Golden(int seed, float perturb = 0)
    {
        var input = Input(seed);
        var expected = BareRun(input);
        expected[0] += perturb;
        return new GoldenSample([input], [InferenceTensor.Create(ModelFixtures.ClassifierOutput, [1, 2], expected)]);
    }

    public static InferenceEngine Engine(out ListLogger<InferenceEngine> logger, TimeProvider? time = null)
    {
        logger = new ListLogger<InferenceEngine>();
        return new InferenceEngine(new ModelLoader(), new RuntimeMetrics(new TestMeterFactory()), time ?? TimeProvider.System, logger);
    }
}
