using Microsoft.Extensions.Hosting;

namespace EdgeMl.Agent.Grpc;

/// <summary>
/// The gRPC server's own host's lifetime: none of its own. The agent's host owns the process's signals and says when it
/// started; the console lifetime a web builder brings listened to SIGTERM beside it and printed "Application started.
/// Press Ctrl+C to shut down." a second time, with the environment and content root.
/// </summary>
internal sealed class ServerLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
