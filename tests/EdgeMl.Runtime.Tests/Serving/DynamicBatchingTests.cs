using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.Runtime.Tests.Serving;

public sealed class DynamicBatchingTests : IDisposable
{
    private readonly TestMeterFactory _meters = new();
    private readonly FakeTimeProvider _time = new();
    private readonly InferenceEngine _engine;
    private readonly MetricCollector<int> _batchSizes;

    public DynamicBatchingTests()
    {
        _engine = new InferenceEngine(new ModelLoader(), new RuntimeMetrics(_meters), _time);
        _batchSizes = new MetricCollector<int>(_meters, RuntimeMetrics.MeterName, "edgeml.inference.batch_size");
    }

    [Fact]
    public async Task Infer_EightConcurrentRequests_RunAsOneBatchWithTheSameOutputsAsUnbatched()
    {
        await Activate(maxBatch: 8, maxQueue: 16);
        var inputs = Enumerable.Range(0, 8).Select(i => Classifier.Input(100 + i)).ToArray();

        var results = await Task.WhenAll(inputs.Select(i => _engine.InferAsync(Classifier.Name, new InferenceRequest([i])).AsTask()));

        Assert.Equal([8], _batchSizes.GetMeasurementSnapshot().Select(m => m.Value));
        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.True(results[i].IsSuccess, results[i].Error?.Message);
            var output = results[i].Output(ModelFixtures.ClassifierOutput);
            Assert.Equal([1L, 2L], output.Shape);
            var expected = Classifier.BareRun(inputs[i]);
            var actual = output.Span<float>().ToArray();
            Assert.All(expected.Zip(actual), p => Assert.Equal(p.First, p.Second, 1e-5f));
        }
    }

    [Fact]
    public async Task Infer_FewerThanMaxBatch_RunsWhenTheDelayExpires()
    {
        await Activate(maxBatch: 8, maxQueue: 16);

        var pending = Enumerable.Range(0, 3).Select(i => _engine.InferAsync(Classifier.Name, Classifier.Request(i)).AsTask()).ToArray();
        var results = await AdvanceUntil(Task.WhenAll(pending));

        Assert.All(results, r => Assert.True(r.IsSuccess));
        Assert.Equal(3, _batchSizes.GetMeasurementSnapshot().Sum(m => m.Value));
    }

    [Fact]
    public async Task Infer_RequestWithSeveralRows_IsSplitBackByRows()
    {
        await Activate(maxBatch: 8, maxQueue: 16);
        var two = Classifier.Input(7, batch: 2);
        var one = Classifier.Input(8);

        var pending = new[] { _engine.InferAsync(Classifier.Name, new InferenceRequest([two])).AsTask(), _engine.InferAsync(Classifier.Name, new InferenceRequest([one])).AsTask() };
        var results = await AdvanceUntil(Task.WhenAll(pending));

        Assert.Equal([2L, 2L], results[0].Output(ModelFixtures.ClassifierOutput).Shape);
        Assert.Equal([1L, 2L], results[1].Output(ModelFixtures.ClassifierOutput).Shape);
        var expectedOne = Classifier.BareRun(one);
        var actualOne = results[1].Output(ModelFixtures.ClassifierOutput).Span<float>().ToArray();
        Assert.All(expectedOne.Zip(actualOne), p => Assert.Equal(p.First, p.Second, 1e-5f));
    }

    [Fact]
    public async Task Infer_MoreRowsThanMaxBatch_IsInvalid()
    {
        await Activate(maxBatch: 4, maxQueue: 16);

        var result = await _engine.InferAsync(Classifier.Name, Classifier.Request(1, batch: 5));

        Assert.Equal(InferenceErrorKind.InvalidInput, result.Error!.Kind);
        Assert.StartsWith("every input of a batched model needs the same first dimension between 1 and 4", result.Error.Message);
    }

    [Fact]
    public async Task Infer_QueueFull_IsOverloadedAtOnce()
    {
        // One worker: while it runs a batch (a millisecond or more), requests submitted back to back fill the
        // queue of two, and the next is refused without waiting.
        await Activate(maxBatch: 8, maxQueue: 2, concurrency: 1);
        var accepted = new List<Task<InferenceResult>>();
        InferenceResult? rejected = null;
        for (var i = 0; i < 10_000 && rejected is null; i++)
        {
            var attempt = _engine.InferAsync(Classifier.Name, Classifier.Request(i % 4)).AsTask();
            if (attempt.IsCompleted && (await attempt).Error?.Kind == InferenceErrorKind.Overloaded)
            {
                rejected = await attempt;
            }
            else
            {
                accepted.Add(attempt);
            }
        }

        Assert.NotNull(rejected);
        Assert.Equal("model 'ocr-cls' is overloaded: its batch queue of 2 is full", rejected.Error!.Message);
        var results = await AdvanceUntil(Task.WhenAll(accepted));
        Assert.All(results, r => Assert.True(r.IsSuccess, r.Error?.Message));
    }

    public void Dispose()
    {
        _engine.Dispose();
        _batchSizes.Dispose();
        _meters.Dispose();
    }

    private async Task Activate(int maxBatch, int maxQueue, int concurrency = 2)
    {
        var serving = new ServingOptions
        {
            MaxConcurrency = concurrency,
            MaxQueue = maxQueue,
            Batching = new BatchingOptions { Enabled = true, MaxBatchSize = maxBatch, MaxDelay = TimeSpan.FromMilliseconds(50) },
        };
        var result = await _engine.ActivateAsync(Classifier.Definition(serving: serving));
        Assert.True(result.Succeeded, result.Failure?.Reason);
    }

    /// <summary>Moves fake time on until <paramref name="task"/> completes: the batcher may start waiting at any moment.</summary>
    private async Task<T> AdvanceUntil<T>(Task<T> task)
    {
        var guard = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!task.IsCompleted && DateTime.UtcNow < guard)
        {
            _time.Advance(TimeSpan.FromMilliseconds(10));
            await Task.WhenAny(task, Task.Delay(5));
        }

        return await task;
    }
}

/// <summary><c>batching: auto</c> on the real engine and the real classifier, in real time.</summary>
public sealed class AutoBatchingTests : IDisposable
{
    private readonly TestMeterFactory _meters = new();
    private readonly InferenceEngine _engine;
    private readonly MetricCollector<int> _batchSizes;

    public AutoBatchingTests()
    {
        _engine = new InferenceEngine(new ModelLoader(), new RuntimeMetrics(_meters), TimeProvider.System);
        _batchSizes = new MetricCollector<int>(_meters, RuntimeMetrics.MeterName, "edgeml.inference.batch_size");
    }

    [Fact]
    public async Task Auto_MeasuresBothWaysOnLiveTraffic_ServesTheFaster_AnswersAsUnbatched()
    {
        await Activate();
        var inputs = Enumerable.Range(0, 4).Select(i => Classifier.Input(200 + i)).ToArray();
        var expected = inputs.Select(Classifier.BareRun).ToArray();

        // 8 callers, 16 requests each: 8 windows of 16, the first unbatched, the second a trial of batching.
        var callers = Enumerable.Range(0, 8).Select(async caller =>
        {
            var answers = new List<(int Input, InferenceResult Result)>();
            for (var i = 0; i < 16; i++)
            {
                var k = (caller + i) % inputs.Length;
                answers.Add((k, await _engine.InferAsync(Classifier.Name, new InferenceRequest([inputs[k]]))));
            }

            return answers;
        });
        var results = (await Task.WhenAll(callers)).SelectMany(a => a).ToList();

        foreach (var (k, result) in results)
        {
            Assert.True(result.IsSuccess, result.Error?.Message);
            var actual = result.Output(ModelFixtures.ClassifierOutput).Span<float>().ToArray();
            Assert.All(expected[k].Zip(actual), p => Assert.Equal(p.First, p.Second, 1e-5f));
        }

        // The batched window's predictions went through the batcher; the rest did not.
        var batched = _batchSizes.GetMeasurementSnapshot().Sum(m => m.Value);
        Assert.InRange(batched, 16, results.Count - 16);

        var choice = _engine.GetStatus(Classifier.Name)!.Batching!;
        Assert.NotNull(choice.UnbatchedRate);
        Assert.NotNull(choice.BatchedRate);
        var (serving, other) = choice.Mode == BatchingMode.Batched ? (choice.BatchedRate!.Value, choice.UnbatchedRate!.Value) : (choice.UnbatchedRate!.Value, choice.BatchedRate!.Value);
        Assert.True(serving * (1 + BatchingChooser.Margin) >= other, $"serves {choice.Mode} at {serving:F0}/s while the other measured {other:F0}/s");
        Assert.Contains("predictions per busy second", choice.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auto_RequestTooLargeForABatch_IsServedUnbatched()
    {
        await Activate();

        var result = await _engine.InferAsync(Classifier.Name, Classifier.Request(1, batch: 5));

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal([5L, 2L], result.Output(ModelFixtures.ClassifierOutput).Shape);
        Assert.Empty(_batchSizes.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task FixedBatching_HasNoAutoChoice()
    {
        var serving = new ServingOptions { Batching = new BatchingOptions { Enabled = true, MaxBatchSize = 4 } };
        Assert.True((await _engine.ActivateAsync(Classifier.Definition(serving: serving))).Succeeded);

        Assert.Null(_engine.GetStatus(Classifier.Name)!.Batching);
    }

    public void Dispose()
    {
        _engine.Dispose();
        _batchSizes.Dispose();
        _meters.Dispose();
    }

    private async Task Activate()
    {
        var serving = new ServingOptions
        {
            MaxConcurrency = 2,
            Batching = new BatchingOptions { Auto = true, MaxBatchSize = 4, MaxDelay = TimeSpan.FromMilliseconds(2), AutoWindow = 16 },
        };
        var result = await _engine.ActivateAsync(Classifier.Definition(serving: serving));
        Assert.True(result.Succeeded, result.Failure?.Reason);
    }
}
