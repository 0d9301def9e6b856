using EdgeMl.CloudSync.IoTHub;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EdgeMl.CloudSync.Tests.IoTHub;

public sealed class ServiceRegistrationTests
{
    private static ServiceProvider Build(Action<IoTHubClientOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddIoTHubClient(configure);
        return services.BuildServiceProvider();
    }

    [Fact]
    public void AddIoTHubClient_ValidOptions_OneInstanceIsClientAndHostedService()
    {
        using var provider = Build(o => o.ConnectionString = "HostName=h;DeviceId=d;SharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");

        var client = provider.GetRequiredService<IIoTHubClient>();
        var hosted = provider.GetServices<IHostedService>().OfType<IoTHubClient>().Single();

        Assert.Same(client, hosted);
        Assert.Equal(IoTHubConnectionState.Disconnected, client.State);
    }

    [Fact]
    public void AddIoTHubClient_MalformedConnectionStringAndRanges_FailsValidationWithEveryProblem()
    {
        using var provider = Build(o =>
        {
            o.ConnectionString = "HostName=h;SharedAccessKey=abc";
            o.KeepAlive = TimeSpan.FromHours(2);
        });

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<IoTHubClientOptions>>().Value);

        Assert.Contains(ex.Failures, f => f.Contains("no DeviceId", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains(nameof(IoTHubClientOptions.KeepAlive), StringComparison.Ordinal));
    }
}
