using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeMl.Agent.Grpc;

/// <summary>
/// The agent's loggers as the gRPC server's own host sees them, less that host's lifecycle category. A failure to start
/// (its port in use) is thrown on to the agent's host, which logs it: both hosts logged "Hosting failed to start" with
/// the whole stack trace, so a field engineer read it twice before the one-line reason.
/// </summary>
internal sealed class ServerLoggers(ILoggerFactory agent) : ILoggerFactory
{
    /// <summary>The category of the Generic Host's own events (starting, started, failed to start, stopping).</summary>
    internal const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    public ILogger CreateLogger(string categoryName) =>
        string.Equals(categoryName, HostCategory, StringComparison.Ordinal) ? NullLogger.Instance : agent.CreateLogger(categoryName);

    public void AddProvider(ILoggerProvider provider) => agent.AddProvider(provider);

    /// <summary>Nothing of its own to free: the loggers are the agent's, disposed with its host.</summary>
    public void Dispose()
    {
    }
}
