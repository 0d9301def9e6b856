using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Drift;

/// <summary>What a baseline measures of one tensor.</summary>
internal sealed record BaselineRequest(string Tensor, bool IsOutput, BaselineStatistic Statistic, int? Index = null);

/// <summary>
/// Builds the manifest's drift baseline from the model's outputs on sample inputs (<c>edgeml model pack
/// --baseline SAMPLES</c>): quantile bin edges, so each baseline bin holds about the same share, and class
/// counts for score outputs.
/// </summary>
internal sealed class BaselineBuilder
{
    private readonly (BaselineRequest Request, List<double> Values)[] _tracked;
    private long _samples;

    public BaselineBuilder(IEnumerable<BaselineRequest> requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        _tracked = requests.Select(r => (r, new List<double>())).ToArray();
    }

    /// <summary>
    /// The usual requests for a signature: mean and standard deviation of each floating-point input; classes of
    /// each floating-point output with more than one score per row, the value of any other numeric output.
    /// </summary>
    public static IReadOnlyList<BaselineRequest> Defaults(IReadOnlyList<ManifestTensorSpec> inputs, IReadOnlyList<ManifestTensorSpec> outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        static bool IsFloat(string datatype) => datatype is "FP16" or "FP32" or "FP64";
        var result = new List<BaselineRequest>();
        foreach (var i in inputs.Where(i => IsFloat(i.Datatype)))
        {
            result.Add(new BaselineRequest(i.Name, false, BaselineStatistic.Mean));
            result.Add(new BaselineRequest(i.Name, false, BaselineStatistic.Std));
        }

        foreach (var o in outputs.Where(o => o.Datatype != "BYTES"))
        {
            var scores = IsFloat(o.Datatype) && o.Shape.Count > 0 && o.Shape[^1] is > 1 or -1;
            result.Add(new BaselineRequest(o.Name, true, scores ? BaselineStatistic.Class : BaselineStatistic.Value));
        }

        return result;
    }

    public void Add(IReadOnlyList<InferenceTensor> inputs, IReadOnlyList<InferenceTensor> outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        _samples++;
        foreach (var (request, values) in _tracked)
        {
            var distribution = new BaselineDistribution { Tensor = request.Tensor, Statistic = request.Statistic, Index = request.Index, Counts = [1] };
            foreach (var tensor in (request.IsOutput ? outputs : inputs).Where(t => t.Name == request.Tensor))
            {
                TensorObservations.Extract(distribution, tensor, values, static (v, x) => v.Add(x));
            }
        }
    }

    /// <summary>The baseline, with up to <paramref name="bins"/> bins per histogram.</summary>
    public DriftBaseline Build(int bins = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        var inputs = new List<BaselineDistribution>();
        var outputs = new List<BaselineDistribution>();
        foreach (var (request, values) in _tracked)
        {
            var finite = values.Where(double.IsFinite).ToArray();
            if (finite.Length == 0)
            {
                continue;
            }

            var distribution = request.Statistic == BaselineStatistic.Class ? Classes(request, finite) : Histogram(request, finite, bins);
            (request.IsOutput ? outputs : inputs).Add(distribution);
        }

        return new DriftBaseline { Samples = _samples, Inputs = inputs, Outputs = outputs };
    }

    /// <summary>Quantile edges (linear interpolation), made strictly ascending, from the minimum to the maximum.</summary>
    public static double[] QuantileEdges(double[] values, int bins)
    {
        ArgumentNullException.ThrowIfNull(values);
        var sorted = values.Order().ToArray();
        if (sorted[0] == sorted[^1])
        {
            return [sorted[0] - 0.5, sorted[0] + 0.5];
        }

        var edges = new List<double>(bins + 1);
        for (var i = 0; i <= bins; i++)
        {
            var position = (double)i / bins * (sorted.Length - 1);
            var low = (int)Math.Floor(position);
            var high = Math.Min(low + 1, sorted.Length - 1);
            var edge = sorted[low] + ((position - low) * (sorted[high] - sorted[low]));
            if (edges.Count == 0 || edge > edges[^1])
            {
                edges.Add(edge);
            }
        }

        return edges.ToArray();
    }

    private static BaselineDistribution Histogram(BaselineRequest request, double[] values, int bins)
    {
        var edges = QuantileEdges(values, bins);
        var histogram = new SlidingHistogram(edges, edges.Length - 1, TimeSpan.FromDays(1), 1);
        var at = DateTimeOffset.UnixEpoch;
        foreach (var v in values)
        {
            histogram.Add(v, at);
        }

        var counts = histogram.Snapshot(at, out _);
        return new BaselineDistribution
        {
            Tensor = request.Tensor,
            Statistic = request.Statistic,
            Index = request.Index,
            Edges = edges,
            Counts = Array.ConvertAll(counts, c => (double)c),
        };
    }

    private static BaselineDistribution Classes(BaselineRequest request, double[] values)
    {
        var classes = (int)values.Max() + 1;
        var counts = new double[Math.Max(1, classes)];
        foreach (var v in values.Where(v => v >= 0))
        {
            counts[(int)v]++;
        }

        return new BaselineDistribution { Tensor = request.Tensor, Statistic = BaselineStatistic.Class, Counts = counts };
    }
}
