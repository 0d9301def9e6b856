namespace EdgeMl.Runtime.Tensors;

/// <summary>A model input or output: name, datatype and shape, with -1 for a dynamic dimension.</summary>
public sealed record TensorSpec(string Name, TensorDataType DataType, IReadOnlyList<long> Shape)
{
    public override string ToString() => $"{Name} {DataType.ToProtocolName()} {FormatShape(Shape)}";

    public static string FormatShape(IEnumerable<long> shape) => "[" + string.Join(",", shape) + "]";
}

/// <summary>The inputs and outputs of a loaded model, as its session reports them.</summary>
public sealed record ModelSignature(IReadOnlyList<TensorSpec> Inputs, IReadOnlyList<TensorSpec> Outputs)
{
    public TensorSpec? FindInput(string name)
    {
        // Indexed: a foreach over the interface would allocate an enumerator on every request.
        for (var i = 0; i < Inputs.Count; i++)
        {
            if (Inputs[i].Name == name)
            {
                return Inputs[i];
            }
        }

        return null;
    }

    /// <summary>True when every input and output has a dynamic first dimension, so requests can be batched.</summary>
    public bool IsBatchable =>
        Inputs.All(i => i.Shape.Count > 0 && i.Shape[0] < 0) && Outputs.All(o => o.Shape.Count > 0 && o.Shape[0] < 0);
}
