using System.Buffers;
using System.Text;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Runtime.Sessions;

/// <summary>
/// One loaded ONNX Runtime session. Safe for concurrent <see cref="Run"/> calls: ONNX Runtime sessions are,
/// and nothing here is shared between calls but read-only state.
/// </summary>
internal sealed class ModelSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _allOutputs;

    [ThreadStatic]
    private static string[]? t_name;

    [ThreadStatic]
    private static OrtValue[]? t_value;

    public ModelSession(ModelDefinition definition, InferenceSession session, ModelSignature signature, ProviderReport providers)
    {
        Definition = definition;
        _session = session;
        Signature = signature;
        Providers = providers;
        _allOutputs = signature.Outputs.Select(o => o.Name).ToArray();
        TensorNames = [.. signature.Inputs.Select(i => i.Name), .. _allOutputs];
    }

    /// <summary>The signature's input names, then its output names.</summary>
    public string[] TensorNames { get; }

    public ModelDefinition Definition { get; }

    public ModelSignature Signature { get; }

    public ProviderReport Providers { get; set; }

    internal InferenceSession OnnxSession => _session;

    /// <summary>
    /// The size from which an answer's output is copied into a buffer rented from <see cref="ArrayPool{T}.Shared"/>
    /// rather than a new array: the large object heap's threshold, whose arrays are only reclaimed by gen-2 collections
    /// (a detector's 1.6 MB output per call made one every few calls).
    /// </summary>
    internal const int PooledOutputBytes = 85_000;

    /// <summary>Runs validated inputs; the data is borrowed by ONNX Runtime for the call, not copied.</summary>
    /// <param name="pooled">
    /// Whether large outputs go into pooled buffers, given back when the caller disposes the <see cref="InferenceResult"/>
    /// they end up in (the engine's requests); otherwise every output is an array of its own.
    /// </param>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime failed.</exception>
    public InferenceTensor[] Run(IReadOnlyList<InferenceTensor> inputs, IReadOnlyList<string> outputs, bool pooled = false) =>
        Run(_session, _runOptions, inputs, outputs.Count == 0 ? _allOutputs : outputs, pooled);

    /// <summary>One run of a bare session, for those that have no <see cref="ModelSession"/> (the package builder's golden samples).</summary>
    internal static InferenceTensor[] Run(InferenceSession session, RunOptions runOptions, IReadOnlyList<InferenceTensor> inputs, IReadOnlyList<string> outputNames, bool pooled = false) =>
        inputs.Count == 1 ? RunOne(session, runOptions, inputs[0], outputNames, pooled) : RunMany(session, runOptions, inputs, outputNames, pooled);

    /// <summary>
    /// A model of one input, the common case: the name and value arrays ONNX Runtime's API takes are this thread's,
    /// reused by every call on it (ONNX Runtime reads them during the call only), and emptied after each.
    /// </summary>
    private static InferenceTensor[] RunOne(InferenceSession session, RunOptions runOptions, InferenceTensor input, IReadOnlyList<string> outputNames, bool pooled)
    {
        var names = t_name ??= new string[1];
        var values = t_value ??= new OrtValue[1];
        var pin = default(MemoryHandle);
        try
        {
            names[0] = input.Name;
            values[0] = ToOrtValue(input, ref pin);
            using var results = session.Run(runOptions, names, values, outputNames);
            return Outputs(results, outputNames, pooled);
        }
        finally
        {
            values[0]?.Dispose();
            pin.Dispose();
            names[0] = null!;
            values[0] = null!;
        }
    }

    private static InferenceTensor[] RunMany(InferenceSession session, RunOptions runOptions, IReadOnlyList<InferenceTensor> inputs, IReadOnlyList<string> outputNames, bool pooled)
    {
        var count = inputs.Count;
        var names = new string[count];
        var values = new OrtValue[count];
        var pins = new MemoryHandle[count];
        try
        {
            for (var i = 0; i < count; i++)
            {
                var input = inputs[i];
                names[i] = input.Name;
                values[i] = ToOrtValue(input, ref pins[i]);
            }

            using var results = session.Run(runOptions, names, values, outputNames);
            return Outputs(results, outputNames, pooled);
        }
        finally
        {
            for (var i = 0; i < count; i++)
            {
                values[i]?.Dispose();
                pins[i].Dispose();
            }
        }
    }

    private static InferenceTensor[] Outputs(IDisposableReadOnlyCollection<OrtValue> results, IReadOnlyList<string> outputNames, bool pooled)
    {
        // Indexed, not enumerated: a foreach over the interface would allocate an enumerator for every run.
        var tensors = new InferenceTensor[results.Count];
        for (var k = 0; k < tensors.Length; k++)
        {
            tensors[k] = FromOrtValue(outputNames[k], results[k], pooled);
        }

        return tensors;
    }

    /// <summary>Makes every run in flight on this session, and every later one, fail at once (a load that is stopping).</summary>
    internal void Terminate() => _runOptions.Terminate = true;

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }

    private static unsafe OrtValue ToOrtValue(InferenceTensor input, ref MemoryHandle pin)
    {
        if (input.DataType == TensorDataType.Bytes)
        {
            var value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, input.ShapeArray);
            for (var j = 0; j < input.Elements.Count; j++)
            {
                value.StringTensorSetElementAt(input.Elements[j].Span, j);
            }

            return value;
        }

        if (input.Data.IsEmpty)
        {
            return OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, input.DataType.ToOnnx(), input.ShapeArray);
        }

        pin = input.Data.Pin();
        return OrtValue.CreateTensorValueWithData(
            OrtMemoryInfo.DefaultInstance, input.DataType.ToOnnx(), input.ShapeArray, (IntPtr)pin.Pointer, input.Data.Length);
    }

    private static InferenceTensor FromOrtValue(string name, OrtValue value, bool pooled)
    {
        var info = value.GetTensorTypeAndShape();
        var shape = info.Shape;
        if (!TensorDataTypes.TryFromOnnx(info.ElementDataType, out var type))
        {
            throw new NotSupportedException($"output '{name}' has element type {info.ElementDataType}, which the protocol cannot carry");
        }

        if (type == TensorDataType.Bytes)
        {
            var elements = new ReadOnlyMemory<byte>[info.ElementCount];
            for (var i = 0; i < elements.Length; i++)
            {
                elements[i] = Encoding.UTF8.GetBytes(value.GetStringElement(i));
            }

            return InferenceTensor.FromElements(name, shape, elements);
        }

        // The answer outlives ONNX Runtime's buffer, so it is copied once; into an array that is not zeroed
        // first, since every byte of it is written (large outputs would otherwise be cleared, then copied).
        var source = value.GetTensorDataAsSpan<byte>();
        if (pooled && source.Length >= PooledOutputBytes)
        {
            var rented = ArrayPool<byte>.Shared.Rent(source.Length);
            source.CopyTo(rented);
            return InferenceTensor.FromPool(name, type, shape, rented, source.Length);
        }

        var copy = GC.AllocateUninitializedArray<byte>(source.Length);
        source.CopyTo(copy);
        return InferenceTensor.FromBytes(name, type, shape, copy);
    }
}
