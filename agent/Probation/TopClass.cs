namespace EdgeMl.Agent.Probation;

/// <summary>The class a row of scores picks: shadows agree when they pick the same one, windows count what each version picks.</summary>
internal static class TopClass
{
    /// <summary>The index of the highest score; the first of equals.</summary>
    public static int Of<T>(ReadOnlySpan<T> values)
        where T : IComparable<T>
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i].CompareTo(values[best]) > 0)
            {
                best = i;
            }
        }

        return best;
    }
}
