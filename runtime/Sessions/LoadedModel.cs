using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Runtime.Sessions;

/// <summary>A model version that passed load, warm-up and golden check, ready to be swapped in.</summary>
public sealed class LoadedModel : IDisposable
{
    internal LoadedModel(ModelSession session, TimeSpan loadTime, TimeSpan warmUpTime)
    {
        Session = session;
        LoadTime = loadTime;
        WarmUpTime = warmUpTime;
    }

    public string Name => Session.Definition.Name;

    public long Version => Session.Definition.Version;

    public ModelSignature Signature => Session.Signature;

    public ProviderReport Providers => Session.Providers;

    public TimeSpan LoadTime { get; }

    public TimeSpan WarmUpTime { get; }

    internal ModelSession Session { get; }

    public void Dispose() => Session.Dispose();
}
