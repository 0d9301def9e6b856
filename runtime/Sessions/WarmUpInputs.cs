using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Runtime.Sessions;

/// <summary>Zero tensors shaped from a signature, for warming up a model that ships no warm-up inputs.</summary>
internal static class WarmUpInputs
{
    public static InferenceTensor[] Zeros(ModelSignature signature, IDictionary<string, long[]> shapes) =>
        signature.Inputs.Select(spec =>
        {
            var shape = shapes.TryGetValue(spec.Name, out var configured) || shapes.TryGetValue(WarmUpOptions.AnyInput, out configured)
                ? configured
                : spec.Shape.Select(d => d < 0 ? 1L : d).ToArray();
            var count = InferenceTensor.CountElements(shape);
            if (count < 0)
            {
                throw new ModelLoadException(ModelLoadStage.WarmUp, $"warm-up shape {TensorSpec.FormatShape(shape)} of '{spec.Name}' is not concrete");
            }

            return spec.DataType == TensorDataType.Bytes
                ? InferenceTensor.FromElements(spec.Name, shape, Enumerable.Repeat(ReadOnlyMemory<byte>.Empty, (int)count).ToArray())
                : InferenceTensor.FromBytes(spec.Name, spec.DataType, shape, new byte[count * spec.DataType.ElementSize()]);
        }).ToArray();
}
