using EdgeMl.Agent.Capture;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace EdgeMl.Agent.Desired;

/// <summary>
/// Lays each desired model's capture policy over the configured capture settings, and puts a relative store
/// path under the data folder; raises a change when the desired state changes, so the recorder follows the twin.
/// </summary>
internal sealed class DesiredCaptureSettings : IPostConfigureOptions<CaptureSettings>, IOptionsChangeTokenSource<CaptureSettings>, IDisposable
{
    private readonly DesiredStateSource _desired;
    private readonly AgentOptions _agent;
    private CancellationTokenSource _changed = new();

    public DesiredCaptureSettings(DesiredStateSource desired, IOptions<AgentOptions> agent)
    {
        _desired = desired;
        _agent = agent.Value;
        desired.Changed += OnDesiredChanged;
    }

    public string? Name => Options.DefaultName;

    public void PostConfigure(string? name, CaptureSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Path.IsPathRooted(options.Store.Path))
        {
            options.Store.Path = _agent.DataPath(options.Store.Path);
        }

        foreach (var (model, desired) in _desired.Current.State.Models)
        {
            if (desired.Capture is { } capture)
            {
                options.Models[model] = capture;
            }
        }
    }

    public IChangeToken GetChangeToken() => new CancellationChangeToken(Volatile.Read(ref _changed).Token);

    public void Dispose()
    {
        _desired.Changed -= OnDesiredChanged;
        _changed.Dispose();
    }

    private void OnDesiredChanged(object? sender, DesiredSnapshot e)
    {
        var previous = Interlocked.Exchange(ref _changed, new CancellationTokenSource());
        previous.Cancel();
        previous.Dispose();
    }
}
