using System.Reflection;

namespace EdgeMl.Agent;

/// <summary>The agent's version, one for every place that shows it: health, the server metadata of HTTP and gRPC, the start-up log, the support bundle.</summary>
internal static class AgentVersion
{
    /// <summary>The informational version without the source revision (<c>1.4.0</c>, not <c>1.4.0+3f2a…</c>).</summary>
    public static readonly string Value =
        typeof(AgentVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(AgentVersion).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
