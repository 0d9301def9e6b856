using System.Collections.Concurrent;
using System.Threading.Channels;

namespace EdgeMl.Agent.Probation;

/// <summary>
/// Feeds each served version's <see cref="VersionWindow"/> from live predictions (all front doors), and wakes the
/// probation judge every <see cref="NudgeEvery"/> requests so a breach under load is acted on without waiting for a timer.
/// </summary>
internal sealed class TrafficWindows : IPredictionObserver
{
    private const int NudgeEvery = 64;
    private readonly ConcurrentDictionary<(string Model, long Version), VersionWindow> _windows = new();
    private readonly Channel<bool> _nudge = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public ChannelReader<bool> Nudges => _nudge.Reader;

    public void Observe(in Prediction prediction)
    {
        var result = prediction.Result;
        if (result.Version <= 0)
        {
            return; // nothing served the request: no version to hold it against
        }

        var window = _windows.GetOrAdd((prediction.Model, result.Version), static key => new VersionWindow(key.Version));
        window.Record(result, prediction.Elapsed);
        if (window.Requests % NudgeEvery == 0)
        {
            _nudge.Writer.TryWrite(true);
        }
    }

    public VersionWindow? Find(string model, long version) => _windows.GetValueOrDefault((model, version));

    /// <summary>Starts a fresh window for a version that just started serving; other windows of the model but <paramref name="keep"/> go.</summary>
    public VersionWindow Restart(string model, long version, long? keep)
    {
        foreach (var key in _windows.Keys.Where(k => k.Model == model && k.Version != keep))
        {
            _windows.TryRemove(key, out _);
        }

        var window = new VersionWindow(version);
        _windows[(model, version)] = window;
        return window;
    }

    public void Forget(string model)
    {
        foreach (var key in _windows.Keys.Where(k => k.Model == model))
        {
            _windows.TryRemove(key, out _);
        }
    }
}
