using EdgeMl.Agent.Desired;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Probation;

/// <summary>Whether a shadow's answer agrees with the active version's, and when a shadow has earned promotion. Pure.</summary>
internal static class ShadowComparison
{
    /// <summary>
    /// Agreement of one request: every output the active version answered is there, and for each the same top class
    /// in every row (an output whose last dimension holds several scores) or all elements within <paramref name="tolerance"/>.
    /// </summary>
    public static bool Agrees(IReadOnlyList<InferenceTensor> active, IReadOnlyList<InferenceTensor> shadow, double tolerance)
    {
        ArgumentNullException.ThrowIfNull(active);
        ArgumentNullException.ThrowIfNull(shadow);
        foreach (var expected in active)
        {
            var actual = shadow.FirstOrDefault(t => t.Name == expected.Name);
            if (actual is null || actual.DataType != expected.DataType || !actual.Shape.SequenceEqual(expected.Shape))
            {
                return false;
            }

            if (!Agrees(expected, actual, tolerance))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Null while promotion is not due; otherwise what to say about it.</summary>
    public static string? Promotion(ShadowSettings settings, long compared, long agreed)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.PromoteAgreement is not { } needed || compared < settings.PromoteSamples || compared == 0)
        {
            return null;
        }

        var agreement = (double)agreed / compared;
        return agreement >= needed
            ? $"shadow v{settings.Version} agreed on {agreement * 100:0.##} % of {compared} samples (needed {needed * 100:0.##} %)"
            : null;
    }

    private static bool Agrees(InferenceTensor expected, InferenceTensor actual, double tolerance)
    {
        var row = expected.Shape.Count == 0 ? 1 : (int)Math.Max(1, expected.Shape[^1]);
        switch (expected.DataType)
        {
            case TensorDataType.Fp32:
                return row > 1 ? SameTopClass(expected.Span<float>(), actual.Span<float>(), row) : Within(expected.Span<float>(), actual.Span<float>(), tolerance);
            case TensorDataType.Fp64:
                return row > 1 ? SameTopClass(expected.Span<double>(), actual.Span<double>(), row) : Within(expected.Span<double>(), actual.Span<double>(), tolerance);
            default:
                // Integers (class ids, indices), booleans and strings agree when they are the same.
                return expected.Data.Span.SequenceEqual(actual.Data.Span)
                    && expected.Elements.Count == actual.Elements.Count
                    && expected.Elements.Zip(actual.Elements).All(p => p.First.Span.SequenceEqual(p.Second.Span));
        }
    }

    private static bool SameTopClass<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, int row)
        where T : IComparable<T>
    {
        for (var start = 0; start + row <= expected.Length; start += row)
        {
            if (TopClass.Of(expected.Slice(start, row)) != TopClass.Of(actual.Slice(start, row)))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Within<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, double tolerance)
        where T : System.Numerics.INumber<T>
    {
        for (var i = 0; i < expected.Length; i++)
        {
            if (!(Math.Abs(double.CreateChecked(expected[i]) - double.CreateChecked(actual[i])) <= tolerance))
            {
                return false;
            }
        }

        return true;
    }
}
