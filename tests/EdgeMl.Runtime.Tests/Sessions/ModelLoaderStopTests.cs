using System.Diagnostics;
using EdgeMl.Runtime.Diagnostics;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Testing;

namespace EdgeMl.Runtime.Tests.Sessions;

/// <summary>
/// A loader disposed while it loads (the agent stopping, or failing to start, during a warm-up) stops the load and
/// waits for it: a process that exits with a thread inside ONNX Runtime aborts.
/// </summary>
public sealed class ModelLoaderStopTests
{
    private const string Model = "loader-stop";

    [Fact]
    public async Task Dispose_DuringTheWarmUp_CancelsTheLoadAndReturnsOnlyOnceItEnded()
    {
        var loader = new ModelLoader();
        using var warmingUp = WhenTheWarmUpStarts();
        var definition = new ModelDefinition
        {
            Name = Model,
            Version = 1,
            ModelPath = ModelFixtures.Classifier,
            Session = new ModelSessionOptions { IntraOpThreads = 1 },

            // Seconds of runs, far longer than the stop may take.
            WarmUp = new WarmUpOptions { Runs = 1000, Shapes = { ["x"] = [4, 3, 48, 960] } },
        };
        var load = loader.LoadAsync(definition);
        await warmingUp.Started.Task.WaitAsync(TimeSpan.FromSeconds(60));

        await loader.DisposeAsync();

        // Ended by the stop, not refused: a ModelLoadException would mark the version as one that failed its warm-up.
        Assert.True(load.IsCompleted, "the loader's disposal returned while the load still ran");
        Assert.True(load.IsCanceled, $"the load ended as {load.Status}: {load.Exception?.InnerException}");
    }

    [Fact]
    public async Task LoadAsync_AfterDispose_IsCancelledWithoutLoading()
    {
        var loader = new ModelLoader();
        await loader.DisposeAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loader.LoadAsync(Classifier.Definition()));
    }

    [Fact]
    public async Task Dispose_AfterALoadFinished_LeavesTheLoadedModelServing()
    {
        var loader = new ModelLoader();
        using var model = await loader.LoadAsync(Classifier.Definition());

        await loader.DisposeAsync();

        // The stop terminates the runs of loads in flight only: this session still answers.
        Assert.Single(model.Run([Classifier.Input(1)], []));
    }

    /// <summary>The first warm-up of <see cref="Model"/> (its load's trace), whatever other tests load meanwhile.</summary>
    private sealed class WarmUpWatch : IDisposable
    {
        private readonly ActivityListener _listener;

        public WarmUpWatch()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == EdgeMlTracing.SourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
                ActivityStarted = activity =>
                {
                    if (activity.OperationName == "model.warmup" && (string?)activity.Parent?.GetTagItem("edgeml.model") == Model)
                    {
                        Started.TrySetResult();
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Dispose() => _listener.Dispose();
    }

    private static WarmUpWatch WhenTheWarmUpStarts() => new();
}
