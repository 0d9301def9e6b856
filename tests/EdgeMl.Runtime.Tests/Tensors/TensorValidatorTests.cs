using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;

namespace EdgeMl.Runtime.Tests.Tensors;

/// <summary>Every validation error, on the real classifier: a specific message, and nothing reaches ONNX Runtime.</summary>
public sealed class TensorValidatorTests : IAsyncLifetime
{
    private InferenceEngine _engine = null!;

    public async Task InitializeAsync()
    {
        _engine = Classifier.Engine(out _);
        var result = await _engine.ActivateAsync(Classifier.Definition(serving: new ServingOptions { MaxRequestBytes = 1_000_000 }));
        Assert.True(result.Succeeded, result.Failure?.Reason);
    }

    public Task DisposeAsync()
    {
        _engine.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Every request is validated: a valid one costs no allocation (an enumerator over the signature did).</summary>
    [Fact]
    public void Validate_AValidRequest_AllocatesNothing()
    {
        var signature = _engine.GetStatuses()[0].Signature!;
        var request = new InferenceRequest([Classifier.Input(1)], ["softmax_0.tmp_0"]);
        Assert.Null(TensorValidator.Validate(request, signature, long.MaxValue) ?? TensorValidator.ValidateOutputs(request.Outputs, signature));

        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = TensorValidator.Validate(request, signature, long.MaxValue) ?? TensorValidator.ValidateOutputs(request.Outputs, signature);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Null(error);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public async Task Infer_UnknownInput_NamesTheInputAndTheModelsInputs()
    {
        var error = await Invalid(new InferenceRequest([Classifier.Input(1).WithName("image")]));
        Assert.Equal("unknown input 'image'; the model's inputs are: x", error);
    }

    [Fact]
    public async Task Infer_MissingInput_NamesTheMissingInput()
    {
        var error = await Invalid(new InferenceRequest([]));
        Assert.Equal("missing input 'x' (FP32 [-1,3,-1,-1])", error);
    }

    [Fact]
    public async Task Infer_DuplicateInput_IsRefused()
    {
        var error = await Invalid(new InferenceRequest([Classifier.Input(1), Classifier.Input(2)]));
        Assert.Equal("input 'x' is given more than once", error);
    }

    [Fact]
    public async Task Infer_WrongDatatype_NamesBothDatatypes()
    {
        var input = InferenceTensor.Create("x", [1, 3, 48, 192], new double[3 * 48 * 192]);
        var error = await Invalid(new InferenceRequest([input]));
        Assert.Equal("input 'x' has datatype FP64; the model expects FP32", error);
    }

    [Fact]
    public async Task Infer_WrongRank_NamesBothShapes()
    {
        var input = InferenceTensor.Create("x", [3, 48, 192], new float[3 * 48 * 192]);
        var error = await Invalid(new InferenceRequest([input]));
        Assert.Equal("input 'x' has rank 3 [3,48,192]; the model expects rank 4 [-1,3,-1,-1]", error);
    }

    [Fact]
    public async Task Infer_FixedDimensionDiffers_NamesTheDimension()
    {
        var input = InferenceTensor.Create("x", [1, 4, 48, 192], new float[4 * 48 * 192]);
        var error = await Invalid(new InferenceRequest([input]));
        Assert.Equal("input 'x' dimension 1 is 4; the model expects 3 (shape [-1,3,-1,-1])", error);
    }

    [Fact]
    public async Task Infer_NegativeDimension_IsRefused()
    {
        var input = InferenceTensor.FromBytes("x", TensorDataType.Fp32, [-1, 3, 48, 192], new byte[16]);
        var error = await Invalid(new InferenceRequest([input]));
        Assert.Equal("input 'x' has a negative dimension 0 (-1)", error);
    }

    [Fact]
    public async Task Infer_DataShorterThanShape_NamesBothLengths()
    {
        var input = InferenceTensor.FromBytes("x", TensorDataType.Fp32, [1, 3, 48, 192], new byte[100]);
        var error = await Invalid(new InferenceRequest([input]));
        Assert.Equal("input 'x' has 100 bytes of data; shape [1,3,48,192] of FP32 needs 110592", error);
    }

    [Fact]
    public async Task Infer_ShapeOverflows_IsRefused()
    {
        var input = InferenceTensor.FromBytes("x", TensorDataType.Fp32, [long.MaxValue, 3, 48, 192], new byte[16]);
        var error = await Invalid(new InferenceRequest([input]));
        Assert.Equal("input 'x' shape [9223372036854775807,3,48,192] has more elements than can be addressed", error);
    }

    [Fact]
    public async Task Infer_OversizedRequest_NamesTheLimit()
    {
        var error = await Invalid(Classifier.Request(1, batch: 10));
        Assert.Equal("request is too large: 1105920 bytes of input data by input 'x'; the limit for this model is 1000000 bytes", error);
    }

    [Fact]
    public async Task Infer_UnknownOutput_NamesTheModelsOutputs()
    {
        var error = await Invalid(new InferenceRequest([Classifier.Input(1)], ["probabilities"]));
        Assert.Equal($"unknown output 'probabilities'; the model's outputs are: {ModelFixtures.ClassifierOutput}", error);
    }

    [Fact]
    public async Task Infer_ValidRequest_MatchesBareOnnxRuntime()
    {
        var input = Classifier.Input(7);
        var result = await _engine.InferAsync(Classifier.Name, new InferenceRequest([input]));

        Assert.True(result.IsSuccess, result.Error?.Message);
        var output = result.Output(ModelFixtures.ClassifierOutput);
        Assert.Equal([1L, 2L], output.Shape);
        Assert.Equal(Classifier.BareRun(input), output.Span<float>().ToArray());
        Assert.Equal(1.0f, output.Span<float>()[0] + output.Span<float>()[1], 4);
    }

    private async Task<string> Invalid(InferenceRequest request)
    {
        var result = await _engine.InferAsync(Classifier.Name, request);
        Assert.False(result.IsSuccess);
        Assert.Equal(InferenceErrorKind.InvalidInput, result.Error!.Kind);
        return result.Error.Message;
    }
}
