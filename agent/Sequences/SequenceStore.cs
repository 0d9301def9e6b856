using System.Diagnostics.Metrics;
using EdgeMl.Agent.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Sequences;

/// <summary>
/// Stateful models' sequences, kept on the server as Triton's sequence batcher keeps them: a call with
/// <c>sequence_start</c> begins a sequence from the model's initial state; each call of it gets the state its previous
/// call returned (the package's state pairs, output → input) and the new state is kept; <c>sequence_end</c> drops it.
/// Calls of one sequence run one at a time in arrival order; sequences share nothing. At most
/// <see cref="SequenceOptions.MaxLive"/> are kept (the one idle longest is evicted, and counted), and one not called
/// for <see cref="SequenceOptions.IdleTimeout"/> is ended. A call that continues a sequence that is not live is
/// refused with what happened to it, never run on a fresh state.
/// </summary>
internal sealed class SequenceStore : IDisposable
{
    private readonly PredictionPipeline _pipeline;
    private readonly TimeProvider _time;
    private readonly SequenceOptions _options;
    private readonly Dictionary<(string Model, string Id), Sequence> _live = [];
    private readonly Dictionary<(string Model, string Id), string> _gone = [];
    private readonly Lock _lock = new();
    private readonly ITimer _sweep;
    private readonly Counter<long> _evicted;
    private readonly Counter<long> _timedOut;

    public SequenceStore(PredictionPipeline pipeline, TimeProvider time, IOptions<SequenceOptions> options, IMeterFactory meters)
    {
        _pipeline = pipeline;
        _time = time;
        _options = options.Value;
        var meter = meters.Create("EdgeMl.Agent.Sequences");
        meter.CreateObservableGauge("edgeml.sequences.live", () => { lock (_lock) { return _live.Count; } }, "{sequence}", "Sequences of stateful models whose state the server keeps");
        _evicted = meter.CreateCounter<long>("edgeml.sequences.evicted", "{sequence}", "Sequences dropped to make room for a new one (the one idle longest)");
        _timedOut = meter.CreateCounter<long>("edgeml.sequences.timed_out", "{sequence}", "Sequences ended after being idle for the idle timeout");
        var period = _options.IdleTimeout / 2;
        _sweep = time.CreateTimer(_ => Sweep(), null, period, period);
    }

    /// <summary>Runs a request: through its sequence when it has sequence parameters, straight through the pipeline otherwise.</summary>
    /// <exception cref="SequenceException">The sequence cannot go on as asked.</exception>
    /// <remarks>
    /// A request outside any sequence is handed on as it is: the sequence's work is a method of its own, whose state
    /// (and the closure over its state pairs) is not allocated for every request.
    /// </remarks>
    public ValueTask<InferenceResult> InferAsync(string model, InferenceRequest request, long? version, SequenceParameters? sequence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return sequence is null
            ? _pipeline.InferAsync(model, request, version, cancellationToken)
            : InferInSequenceAsync(model, request, version, sequence, cancellationToken);
    }

    private async ValueTask<InferenceResult> InferInSequenceAsync(string model, InferenceRequest request, long? version, SequenceParameters sequence, CancellationToken cancellationToken)
    {
        var pairs = _pipeline.Engine.GetStatus(model)?.States ?? [];
        if (pairs.Count == 0)
        {
            // An unknown model is the engine's to answer; a known one without state has no sequence to keep.
            return _pipeline.Engine.GetStatus(model) is null
                ? await _pipeline.InferAsync(model, request, version, cancellationToken).ConfigureAwait(false)
                : throw new SequenceException($"model '{model}' keeps no state between calls (its package declares no state pairs); send the request without sequence_id", unknown: false);
        }

        if (request.Inputs.FirstOrDefault(i => pairs.Any(p => p.Input == i.Name)) is { } carried)
        {
            throw new SequenceException($"input '{carried.Name}' is the state the server carries in a sequence; leave it out of requests with sequence_id", unknown: false);
        }

        var entry = Enter(model, sequence, pairs);
        await entry.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (entry.Ended)
            {
                throw Unknown(model, sequence.Id);
            }

            var outputs = request.Outputs.Count == 0 ? request.Outputs : [.. request.Outputs.Union(pairs.Select(p => p.Output))];
            var result = await _pipeline.InferAsync(model, new InferenceRequest([.. request.Inputs, .. entry.State], outputs), version, cancellationToken).ConfigureAwait(false);
            if (!result.IsSuccess)
            {
                if (sequence.Start)
                {
                    End(model, sequence.Id, entry, why: null);
                }

                return result;
            }

            entry.State = [.. pairs.Select(p => result.Output(p.Output).WithName(p.Input))];
            entry.LastUsed = _time.GetTimestamp();
            if (sequence.End)
            {
                End(model, sequence.Id, entry, why: $"it ended (sequence_end)");
            }

            return request.Outputs.Count == 0 ? result : OnlyAsked(result, request.Outputs);
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    public int LiveCount
    {
        get
        {
            lock (_lock)
            {
                return _live.Count;
            }
        }
    }

    public void Dispose() => _sweep.Dispose();

    /// <summary>The outputs the caller asked for; the state's own buffers go back now (what the entry keeps was copied from them).</summary>
    private static InferenceResult OnlyAsked(InferenceResult result, IReadOnlyList<string> outputs)
    {
        var asked = InferenceResult.Success(result.Model, result.Version, [.. result.Outputs.Where(o => outputs.Contains(o.Name))]);
        using (InferenceResult.Success(result.Model, result.Version, [.. result.Outputs.Except(asked.Outputs)]))
        {
            return asked;
        }
    }

    private Sequence Enter(string model, SequenceParameters sequence, IReadOnlyList<StatePair> pairs)
    {
        var key = (model, sequence.Id);
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            if (_live.TryGetValue(key, out var live) && IsIdle(live, now))
            {
                Remove(key, live, $"it idled out after {_options.IdleTimeout.TotalSeconds:0.#} s without a call");
                _timedOut.Add(1);
                live = null;
            }

            if (!sequence.Start)
            {
                return live ?? throw Unknown(model, sequence.Id);
            }

            if (live is not null)
            {
                // A start on a live sequence begins it again, as Triton does.
                live.State = [.. pairs.Select(p => p.Initial)];
                live.LastUsed = now;
                return live;
            }

            if (_live.Count >= _options.MaxLive)
            {
                var oldest = _live.MinBy(p => p.Value.LastUsed);
                Remove(oldest.Key, oldest.Value, $"it was evicted, idle the longest when {_options.MaxLive} sequences were live (EdgeMl:Sequences:MaxLive)");
                _evicted.Add(1);
            }

            var created = new Sequence { State = [.. pairs.Select(p => p.Initial)], LastUsed = now };
            _live[key] = created;
            _gone.Remove(key);
            return created;
        }
    }

    private void End(string model, string id, Sequence entry, string? why)
    {
        lock (_lock)
        {
            if (_live.TryGetValue((model, id), out var live) && ReferenceEquals(live, entry))
            {
                Remove((model, id), entry, why);
            }
        }
    }

    /// <summary>Drops a sequence, remembering why (for the next call that names it) within a bound.</summary>
    private void Remove((string Model, string Id) key, Sequence entry, string? why)
    {
        entry.Ended = true;
        _live.Remove(key);
        if (why is not null)
        {
            if (_gone.Count >= _options.MaxLive)
            {
                _gone.Clear();
            }

            _gone[key] = why;
        }
    }

    private void Sweep()
    {
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            foreach (var (key, entry) in _live.Where(p => IsIdle(p.Value, now)).ToArray())
            {
                Remove(key, entry, $"it idled out after {_options.IdleTimeout.TotalSeconds:0.#} s without a call");
                _timedOut.Add(1);
            }
        }
    }

    private bool IsIdle(Sequence entry, long now) => _time.GetElapsedTime(entry.LastUsed, now) >= _options.IdleTimeout;

    private SequenceException Unknown(string model, string id)
    {
        string? why;
        lock (_lock)
        {
            _gone.TryGetValue((model, id), out why);
        }

        return new SequenceException(
            $"sequence '{id}' of model '{model}' is not live{(why is null ? " (never started, or forgotten)" : $": {why}")}; start it again with sequence_start=true",
            unknown: true);
    }

    private sealed class Sequence
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public IReadOnlyList<InferenceTensor> State { get; set; } = [];

        public long LastUsed { get; set; }

        public bool Ended { get; set; }
    }
}
