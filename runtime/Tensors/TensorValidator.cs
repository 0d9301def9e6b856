namespace EdgeMl.Runtime.Tensors;

/// <summary>
/// Checks a request against a model's signature and limits before anything reaches ONNX Runtime. Each
/// problem gets its own message naming the input and what was expected.
/// </summary>
internal static class TensorValidator
{
    public static InferenceError? Validate(InferenceRequest request, ModelSignature signature, long maxRequestBytes)
    {
        var inputs = request.Inputs;
        long total = 0;
        for (var i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            var spec = signature.FindInput(input.Name);
            if (spec is null)
            {
                return InferenceError.Invalid(
                    $"unknown input '{input.Name}'; the model's inputs are: {string.Join(", ", signature.Inputs.Select(s => s.Name))}");
            }

            for (var j = 0; j < i; j++)
            {
                if (inputs[j].Name == input.Name)
                {
                    return InferenceError.Invalid($"input '{input.Name}' is given more than once");
                }
            }

            if (ValidateOne(input, spec) is { } error)
            {
                return error;
            }

            total += input.ByteLength;
            if (total > maxRequestBytes)
            {
                return InferenceError.Invalid(
                    $"request is too large: {total} bytes of input data by input '{input.Name}'; the limit for this model is {maxRequestBytes} bytes");
            }
        }

        if (inputs.Count != signature.Inputs.Count)
        {
            foreach (var spec in signature.Inputs)
            {
                if (!inputs.Any(i => i.Name == spec.Name))
                {
                    return InferenceError.Invalid($"missing input '{spec.Name}' ({spec.DataType.ToProtocolName()} {TensorSpec.FormatShape(spec.Shape)})");
                }
            }
        }

        return null;
    }


    public static InferenceError? ValidateOutputs(IReadOnlyList<string> requested, ModelSignature signature)
    {
        for (var i = 0; i < requested.Count; i++)
        {
            var name = requested[i];
            if (!HasOutput(signature, name))
            {
                return InferenceError.Invalid(
                    $"unknown output '{name}'; the model's outputs are: {string.Join(", ", signature.Outputs.Select(s => s.Name))}");
            }
        }

        return null;
    }

    private static InferenceError? ValidateOne(InferenceTensor input, TensorSpec spec)
    {
        if (input.DataType != spec.DataType)
        {
            return InferenceError.Invalid(
                $"input '{input.Name}' has datatype {input.DataType.ToProtocolName()}; the model expects {spec.DataType.ToProtocolName()}");
        }

        var shape = input.Shape;
        if (shape.Count != spec.Shape.Count)
        {
            return InferenceError.Invalid(
                $"input '{input.Name}' has rank {shape.Count} {TensorSpec.FormatShape(shape)}; the model expects rank {spec.Shape.Count} {TensorSpec.FormatShape(spec.Shape)}");
        }

        for (var d = 0; d < shape.Count; d++)
        {
            if (shape[d] < 0)
            {
                return InferenceError.Invalid($"input '{input.Name}' has a negative dimension {d} ({shape[d]})");
            }

            if (spec.Shape[d] >= 0 && spec.Shape[d] != shape[d])
            {
                return InferenceError.Invalid(
                    $"input '{input.Name}' dimension {d} is {shape[d]}; the model expects {spec.Shape[d]} (shape {TensorSpec.FormatShape(spec.Shape)})");
            }
        }

        var count = input.ElementCount;
        if (count < 0)
        {
            return InferenceError.Invalid($"input '{input.Name}' shape {TensorSpec.FormatShape(shape)} has more elements than can be addressed");
        }

        if (input.DataType == TensorDataType.Bytes)
        {
            if (input.Elements.Count != count)
            {
                return InferenceError.Invalid(
                    $"input '{input.Name}' has {input.Elements.Count} elements; shape {TensorSpec.FormatShape(shape)} needs {count}");
            }
        }
        else
        {
            var expected = count * input.DataType.ElementSize();
            if (input.Data.Length != expected)
            {
                return InferenceError.Invalid(
                    $"input '{input.Name}' has {input.Data.Length} bytes of data; shape {TensorSpec.FormatShape(shape)} of {input.DataType.ToProtocolName()} needs {expected}");
            }
        }

        return null;
    }

    private static bool HasOutput(ModelSignature signature, string name)
    {
        for (var i = 0; i < signature.Outputs.Count; i++)
        {
            if (signature.Outputs[i].Name == name)
            {
                return true;
            }
        }

        return false;
    }
}
