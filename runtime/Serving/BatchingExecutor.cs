using System.Diagnostics;
using System.Threading.Channels;
using EdgeMl.Runtime.Diagnostics;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Runtime.Serving;

/// <summary>
/// Dynamic batching: requests wait in a bounded queue until <see cref="BatchingOptions.MaxBatchSize"/> rows
/// are gathered or the first has waited <see cref="BatchingOptions.MaxDelay"/>; they run as one batch along
/// the first dimension and the outputs are split back without copying. A full queue answers "overloaded" at once.
/// One collector forms the batches and hands each to one of <see cref="ServingOptions.MaxConcurrency"/> runs:
/// collectors of their own would split the waiting callers between them and each wait out the delay for
/// requests that the other holds.
/// </summary>
internal sealed class BatchingExecutor : IRequestExecutor
{
    private readonly ModelSession _session;
    private readonly RuntimeMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly Channel<PendingRequest> _queue;
    private readonly int _maxBatch;
    private readonly TimeSpan _maxDelay;
    private readonly KeyValuePair<string, object?> _modelTag;
    private readonly SemaphoreSlim _runs;
    private readonly Task _collector;

    public BatchingExecutor(ModelSession session, RuntimeMetrics metrics, TimeProvider time)
    {
        _session = session;
        _metrics = metrics;
        _time = time;
        var serving = session.Definition.Serving;
        _maxBatch = serving.Batching.MaxBatchSize;
        _maxDelay = serving.Batching.MaxDelay;
        _modelTag = new("model", session.Definition.Name);
        _queue = Channel.CreateBounded<PendingRequest>(new BoundedChannelOptions(Math.Max(1, serving.MaxQueue))
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _runs = new SemaphoreSlim(serving.MaxConcurrency);
        _collector = Task.Run(CollectAsync);
    }

    public async ValueTask<(InferenceTensor[]? Outputs, InferenceError? Error)> ExecuteAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        var rows = request.Inputs.Count > 0 ? request.Inputs[0].Shape[0] : 0;
        if (rows < 1 || rows > _maxBatch || !SameRows(request.Inputs, rows))
        {
            return (null, RowsRefused(request));
        }

        var pending = new PendingRequest(request, (int)rows);
        if (!_queue.Writer.TryWrite(pending))
        {
            return (null, new InferenceError(
                InferenceErrorKind.Overloaded,
                $"model '{_session.Definition.Name}' is overloaded: its batch queue of {_session.Definition.Serving.MaxQueue} is full"));
        }

        _metrics.QueueDepth.Add(1, _modelTag);
        await using var registration = cancellationToken.Register(static p => ((PendingRequest)p!).Cancel(), pending);
        var answer = await pending.Completion.Task;
        if (pending.StartedAt != 0)
        {
            // The batch ran on the collector's thread, outside this request's trace: its spans are told afterwards.
            EdgeMlTracing.RecordPast("engine.queue", pending.QueuedAt, pending.StartedAt);
            EdgeMlTracing.RecordPast("engine.run", pending.StartedAt, pending.EndedAt, new("edgeml.batch.size", pending.BatchSize));
        }

        return answer;
    }

    /// <summary>Whether every input has <paramref name="rows"/> rows; a loop, not a lambda over the request, which would allocate its closure on every call.</summary>
    private static bool SameRows(IReadOnlyList<InferenceTensor> inputs, long rows)
    {
        for (var i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].Shape[0] != rows)
            {
                return false;
            }
        }

        return true;
    }

    private InferenceError RowsRefused(InferenceRequest request) => InferenceError.Invalid(
        $"every input of a batched model needs the same first dimension between 1 and {_maxBatch}; got {string.Join(", ", request.Inputs.Select(i => $"{i.Name} {TensorSpec.FormatShape(i.Shape)}"))}");

    /// <summary>
    /// Called when the last request on this version is done: the queue is empty. The turns semaphore is left to
    /// the collector's end, since a run may still be returning its turn; it holds no wait handle to free.
    /// </summary>
    public void Dispose() => _queue.Writer.TryComplete();

    private async Task CollectAsync()
    {
        var batch = new List<PendingRequest>(_maxBatch);
        PendingRequest? carried = null;
        var reader = _queue.Reader;
        while (carried is not null || await reader.WaitToReadAsync())
        {
            if (carried is null && !reader.TryRead(out carried))
            {
                continue;
            }

            var first = carried;
            carried = null;
            batch.Add(first);
            var rows = first.Rows;
            var deadline = _time.GetTimestamp() + (long)(_maxDelay.TotalSeconds * _time.TimestampFrequency);
            while (rows < _maxBatch)
            {
                if (reader.TryRead(out var next))
                {
                    if (rows + next.Rows > _maxBatch || !Compatible(first.Request, next.Request))
                    {
                        carried = next;
                        break;
                    }

                    batch.Add(next);
                    rows += next.Rows;
                    continue;
                }

                var remaining = _time.GetElapsedTime(_time.GetTimestamp(), deadline);
                if (remaining <= TimeSpan.Zero || !await WaitForMoreAsync(reader, remaining))
                {
                    break;
                }
            }

            _metrics.QueueDepth.Add(-batch.Count, _modelTag);

            // Requests that arrive while every run is busy gather into the next batch meanwhile.
            await _runs.WaitAsync();
            var ready = batch.ToArray();
            batch.Clear();
            _ = Task.Run(() =>
            {
                try
                {
                    Run(ready);
                }
                finally
                {
                    _runs.Release();
                }
            });
        }
    }

    private async Task<bool> WaitForMoreAsync(ChannelReader<PendingRequest> reader, TimeSpan remaining)
    {
        using var timeout = new CancellationTokenSource(remaining, _time);
        try
        {
            return await reader.WaitToReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void Run(PendingRequest[] collected)
    {
        // From here on a request is answered by the run, not by its cancellation: the session must stay
        // leased until the run that uses it has returned.
        var batch = collected.Where(p => p.TryStart()).ToList();
        if (batch.Count == 0)
        {
            return;
        }

        var rows = batch.Sum(p => p.Rows);
        _metrics.BatchSize.Record(batch.Count, _modelTag);
        var started = Stopwatch.GetTimestamp();
        try
        {
            // A batch's outputs are sliced among its callers, so only a lone caller's may lie in pooled buffers.
            var outputs = _session.Run(batch.Count == 1 ? batch[0].Request.Inputs : Concatenate(batch, rows), batch[0].Request.Outputs, pooled: batch.Count == 1);
            var ended = Stopwatch.GetTimestamp();
            foreach (var p in batch)
            {
                p.Ran(started, ended, batch.Count);
            }

            Split(batch, rows, outputs);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever goes wrong in a batch (ONNX Runtime, an output type the protocol cannot carry), every caller
            // waiting on it gets an answer; a lost exception here would leave them waiting forever.
            foreach (var p in batch)
            {
                p.Completion.TrySetResult((null, new InferenceError(InferenceErrorKind.RuntimeFailure, e.Message)));
            }
        }
    }

    private static InferenceTensor[] Concatenate(List<PendingRequest> batch, int rows)
    {
        var first = batch[0].Request.Inputs;
        var inputs = new InferenceTensor[first.Count];
        for (var i = 0; i < first.Count; i++)
        {
            var name = first[i].Name;
            var shape = first[i].ShapeArray.ToArray();
            shape[0] = rows;
            if (first[i].DataType == TensorDataType.Bytes)
            {
                inputs[i] = InferenceTensor.FromElements(name, shape, batch.SelectMany(p => Input(p, name).Elements).ToArray());
                continue;
            }

            var data = new byte[batch.Sum(p => Input(p, name).Data.Length)];
            var offset = 0;
            foreach (var p in batch)
            {
                var part = Input(p, name).Data.Span;
                part.CopyTo(data.AsSpan(offset));
                offset += part.Length;
            }

            inputs[i] = InferenceTensor.FromBytes(name, first[i].DataType, shape, data);
        }

        return inputs;
    }

    private static void Split(List<PendingRequest> batch, int rows, InferenceTensor[] outputs)
    {
        if (batch.Count == 1)
        {
            batch[0].Completion.TrySetResult((outputs, null));
            return;
        }

        foreach (var output in outputs)
        {
            if (output.Shape.Count == 0 || output.Shape[0] != rows)
            {
                var error = new InferenceError(
                    InferenceErrorKind.RuntimeFailure,
                    $"output '{output.Name}' has shape {TensorSpec.FormatShape(output.Shape)} for a batch of {rows}; this model cannot be batched");
                foreach (var p in batch)
                {
                    p.Completion.TrySetResult((null, error));
                }

                return;
            }
        }

        var row = 0;
        foreach (var p in batch)
        {
            var parts = new InferenceTensor[outputs.Length];
            for (var o = 0; o < outputs.Length; o++)
            {
                var output = outputs[o];
                var shape = output.ShapeArray.ToArray();
                shape[0] = p.Rows;
                if (output.DataType == TensorDataType.Bytes)
                {
                    var perRow = output.Elements.Count / rows;
                    parts[o] = InferenceTensor.FromElements(output.Name, shape, output.Elements.Skip(row * perRow).Take(p.Rows * perRow).ToArray());
                }
                else
                {
                    var rowBytes = output.Data.Length / rows;
                    parts[o] = InferenceTensor.FromBytes(output.Name, output.DataType, shape, output.Data.Slice(row * rowBytes, p.Rows * rowBytes));
                }
            }

            p.Completion.TrySetResult((parts, null));
            row += p.Rows;
        }
    }

    private static bool Compatible(InferenceRequest a, InferenceRequest b)
    {
        if (a.Inputs.Count != b.Inputs.Count || !a.Outputs.SequenceEqual(b.Outputs))
        {
            return false;
        }

        foreach (var x in a.Inputs)
        {
            var y = b.Inputs.FirstOrDefault(i => i.Name == x.Name);
            if (y is null || y.DataType != x.DataType || !x.ShapeArray.AsSpan(1).SequenceEqual(y.ShapeArray.AsSpan(1)))
            {
                return false;
            }
        }

        return true;
    }

    private static InferenceTensor Input(PendingRequest p, string name)
    {
        foreach (var input in p.Request.Inputs)
        {
            if (input.Name == name)
            {
                return input;
            }
        }

        throw new InvalidOperationException($"input '{name}' vanished from a batched request");
    }

    private sealed class PendingRequest(InferenceRequest request, int rows)
    {
        private const int Queued = 0;
        private const int Started = 1;
        private const int Canceled = 2;
        private int _state;

        public InferenceRequest Request { get; } = request;

        public int Rows { get; } = rows;

        public long QueuedAt { get; } = Stopwatch.GetTimestamp();

        public long StartedAt { get; private set; }

        public long EndedAt { get; private set; }

        public int BatchSize { get; private set; }

        /// <summary>Set before the answer is, so the caller reads them once its completion has run.</summary>
        public void Ran(long started, long ended, int batchSize) => (StartedAt, EndedAt, BatchSize) = (started, ended, batchSize);

        public TaskCompletionSource<(InferenceTensor[]? Outputs, InferenceError? Error)> Completion { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool TryStart() => Interlocked.CompareExchange(ref _state, Started, Queued) == Queued;

        public void Cancel()
        {
            if (Interlocked.CompareExchange(ref _state, Canceled, Queued) == Queued)
            {
                Completion.TrySetResult((null, new InferenceError(InferenceErrorKind.Canceled, "the request was cancelled while it waited for a batch")));
            }
        }
    }
}
