namespace EdgeMl.Agent.Drift;

/// <summary>
/// Distances between two distributions given as bin counts over the same bins (counts or frequencies; each side
/// is normalized). Bins empty on one side are smoothed with <see cref="Epsilon"/> where a logarithm needs it.
/// </summary>
internal static class DriftStatistics
{
    /// <summary>The proportion an empty bin is given in PSI, as most monitoring tools do.</summary>
    public const double Epsilon = 1e-4;

    /// <summary>
    /// Population stability index: Σ (aᵢ − eᵢ)·ln(aᵢ / eᵢ) over the proportions of the actual (a) and expected
    /// (e) distributions. Below 0.1 is usually read as stable, 0.1–0.2 as a moderate shift, above 0.2 as a
    /// significant one.
    /// </summary>
    public static double PopulationStabilityIndex(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual)
    {
        CheckSameLength(expected, actual);
        var e = Normalize(expected);
        var a = Normalize(actual);
        var psi = 0.0;
        for (var i = 0; i < e.Length; i++)
        {
            var ei = Math.Max(e[i], Epsilon);
            var ai = Math.Max(a[i], Epsilon);
            psi += (ai - ei) * Math.Log(ai / ei);
        }

        return psi;
    }

    /// <summary>
    /// Two-sample Kolmogorov–Smirnov statistic on binned data: the largest gap between the two cumulative
    /// distributions at the bin edges. For classes the order of the bins is arbitrary, so read it with care.
    /// </summary>
    public static double KolmogorovSmirnov(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual)
    {
        CheckSameLength(expected, actual);
        var e = Normalize(expected);
        var a = Normalize(actual);
        double ce = 0, ca = 0, d = 0;
        for (var i = 0; i < e.Length; i++)
        {
            ce += e[i];
            ca += a[i];
            d = Math.Max(d, Math.Abs(ce - ca));
        }

        return d;
    }

    /// <summary>The exact two-sample Kolmogorov–Smirnov statistic sup |F₁(x) − F₂(x)| of two raw samples.</summary>
    public static double KolmogorovSmirnovSamples(ReadOnlySpan<double> first, ReadOnlySpan<double> second)
    {
        if (first.IsEmpty || second.IsEmpty)
        {
            throw new ArgumentException("Both samples need at least one value.");
        }

        var x = first.ToArray();
        var y = second.ToArray();
        Array.Sort(x);
        Array.Sort(y);
        int i = 0, j = 0;
        var d = 0.0;
        while (i < x.Length && j < y.Length)
        {
            var v = Math.Min(x[i], y[j]);
            while (i < x.Length && x[i] <= v)
            {
                i++;
            }

            while (j < y.Length && y[j] <= v)
            {
                j++;
            }

            d = Math.Max(d, Math.Abs(((double)i / x.Length) - ((double)j / y.Length)));
        }

        return d;
    }

    /// <summary>
    /// Jensen–Shannon distance with base-2 logarithms: √(½·KL(p‖m) + ½·KL(q‖m)), m = ½(p + q); 0 for equal
    /// distributions, 1 for disjoint ones (scipy's <c>jensenshannon(p, q, base=2)</c>).
    /// </summary>
    public static double JensenShannonDistance(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual)
    {
        CheckSameLength(expected, actual);
        var p = Normalize(expected);
        var q = Normalize(actual);
        var divergence = 0.0;
        for (var i = 0; i < p.Length; i++)
        {
            var m = (p[i] + q[i]) / 2;
            if (p[i] > 0)
            {
                divergence += 0.5 * p[i] * Math.Log2(p[i] / m);
            }

            if (q[i] > 0)
            {
                divergence += 0.5 * q[i] * Math.Log2(q[i] / m);
            }
        }

        // Rounding can leave a tiny negative for identical inputs.
        return Math.Sqrt(Math.Max(0, divergence));
    }

    public static double[] Normalize(ReadOnlySpan<double> counts)
    {
        var total = 0.0;
        foreach (var c in counts)
        {
            total += c;
        }

        var result = new double[counts.Length];
        if (total <= 0)
        {
            return result;
        }

        for (var i = 0; i < counts.Length; i++)
        {
            result[i] = counts[i] / total;
        }

        return result;
    }

    private static void CheckSameLength(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual)
    {
        if (expected.Length != actual.Length || expected.IsEmpty)
        {
            throw new ArgumentException($"Distributions need the same, non-zero number of bins ({expected.Length} vs {actual.Length}).");
        }
    }
}
