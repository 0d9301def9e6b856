using EdgeMl.Runtime.Diagnostics;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Runtime.Serving;

/// <summary>
/// Runs each request on the session on the caller's thread, at most <see cref="ServingOptions.MaxConcurrency"/>
/// at once; up to <see cref="ServingOptions.MaxQueue"/> more wait, and any beyond are told "overloaded" at once.
/// </summary>
internal sealed class DirectExecutor(ModelSession session, RuntimeMetrics metrics) : IRequestExecutor
{
    private readonly SemaphoreSlim _slots = new(session.Definition.Serving.MaxConcurrency);
    private readonly int _maxQueue = session.Definition.Serving.MaxQueue;
    private readonly KeyValuePair<string, object?> _modelTag = new("model", session.Definition.Name);
    private int _waiting;

    public async ValueTask<(InferenceTensor[]? Outputs, InferenceError? Error)> ExecuteAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        if (!_slots.Wait(0, CancellationToken.None))
        {
            if (Interlocked.Increment(ref _waiting) > _maxQueue)
            {
                Interlocked.Decrement(ref _waiting);
                return (null, Overloaded());
            }

            metrics.QueueDepth.Add(1, _modelTag);
            using var wait = EdgeMlTracing.Source.StartActivity("engine.queue");
            try
            {
                await _slots.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return (null, new InferenceError(InferenceErrorKind.Canceled, "the request was cancelled while it waited for the model"));
            }
            finally
            {
                Interlocked.Decrement(ref _waiting);
                metrics.QueueDepth.Add(-1, _modelTag);
            }
        }

        using var run = EdgeMlTracing.Source.StartActivity("engine.run");
        try
        {
            return (session.Run(request.Inputs, request.Outputs, pooled: true), null);
        }
        catch (OnnxRuntimeException e)
        {
            return (null, new InferenceError(InferenceErrorKind.RuntimeFailure, e.Message));
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>The session's turns; tests take them to make the model busy.</summary>
    internal SemaphoreSlim Turns => _slots;

    public void Dispose() => _slots.Dispose();

    private InferenceError Overloaded() => new(
        InferenceErrorKind.Overloaded,
        $"model '{session.Definition.Name}' is overloaded: {session.Definition.Serving.MaxConcurrency} running and {_maxQueue} waiting");
}
