using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Runtime.Serving;

/// <summary>
/// <c>batching: auto</c>: the same session behind an unbatched and a batched executor, with
/// <see cref="BatchingChooser"/> deciding window by window which one serves. Each window counts the predictions it
/// completed and the time at least one request was in flight, so the comparison is made on the live traffic.
/// Requests a batch cannot carry (a first dimension above the batch size, or inputs that disagree on it) always run
/// unbatched and are not counted.
/// </summary>
internal sealed class AutoBatchingExecutor : IRequestExecutor
{
    private readonly DirectExecutor _direct;
    private readonly BatchingExecutor _batched;
    private readonly BatchingChooser _chooser = new();
    private readonly TimeProvider _time;
    private readonly int _window;
    private readonly int _maxBatch;
    private readonly Action<BatchingChoice> _changed;
    private readonly Lock _gate = new();
    private BatchingMode _mode;
    private int _inFlight;
    private long _busySince;
    private TimeSpan _busy;
    private long _completed;

    /// <param name="changed">Told when the better mode changes, with the figures that changed it.</param>
    public AutoBatchingExecutor(ModelSession session, RuntimeMetrics metrics, TimeProvider time, Action<BatchingChoice> changed)
    {
        _direct = new DirectExecutor(session, metrics);
        _batched = new BatchingExecutor(session, metrics, time);
        _time = time;
        _window = session.Definition.Serving.Batching.AutoWindow;
        _maxBatch = session.Definition.Serving.Batching.MaxBatchSize;
        _changed = changed;
        _mode = _chooser.Next;
    }

    public BatchingChoice Choice
    {
        get
        {
            lock (_gate)
            {
                return _chooser.Choice;
            }
        }
    }

    public async ValueTask<(InferenceTensor[]? Outputs, InferenceError? Error)> ExecuteAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        var rows = Rows(request);
        if (rows == 0)
        {
            return await _direct.ExecuteAsync(request, cancellationToken).ConfigureAwait(false);
        }

        BatchingMode mode;
        lock (_gate)
        {
            mode = _mode;
            if (_inFlight++ == 0)
            {
                _busySince = _time.GetTimestamp();
            }
        }

        (InferenceTensor[]? Outputs, InferenceError? Error) answer = default;
        try
        {
            IRequestExecutor executor = mode == BatchingMode.Batched ? _batched : _direct;
            answer = await executor.ExecuteAsync(request, cancellationToken).ConfigureAwait(false);
            return answer;
        }
        finally
        {
            Completed(mode, answer.Error is null ? rows : 0);
        }
    }

    public void Dispose()
    {
        _batched.Dispose();
        _direct.Dispose();
    }

    private void Completed(BatchingMode mode, long rows)
    {
        BatchingChoice? changed = null;
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            if (--_inFlight == 0)
            {
                _busy += _time.GetElapsedTime(_busySince, now);
            }

            // A request of the mode before a switch still finishing is not the new window's to count.
            if (mode == _mode)
            {
                _completed += rows;
            }

            if (_completed >= _window)
            {
                var busy = _busy;
                if (_inFlight > 0)
                {
                    busy += _time.GetElapsedTime(_busySince, now);
                    _busySince = now;
                }

                if (_chooser.Complete(_mode, _completed, busy))
                {
                    changed = _chooser.Choice;
                }

                _mode = _chooser.Next;
                _completed = 0;
                _busy = TimeSpan.Zero;
            }
        }

        if (changed is not null)
        {
            _changed(changed);
        }
    }

    /// <summary>The rows a batch would carry, or 0 when this request cannot join one.</summary>
    private long Rows(InferenceRequest request)
    {
        if (request.Inputs.Count == 0 || request.Inputs[0].Shape.Count == 0)
        {
            return 0;
        }

        var rows = request.Inputs[0].Shape[0];
        for (var i = 1; i < request.Inputs.Count; i++)
        {
            var shape = request.Inputs[i].Shape;
            if (shape.Count == 0 || shape[0] != rows)
            {
                return 0;
            }
        }

        return rows >= 1 && rows <= _maxBatch ? rows : 0;
    }
}
