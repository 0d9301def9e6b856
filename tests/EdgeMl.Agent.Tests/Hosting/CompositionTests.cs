using System.Text.RegularExpressions;
using EdgeMl.Agent.Capture;
using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Gpio;
using EdgeMl.Agent.Hosting;
using EdgeMl.Agent.Serving;
using EdgeMl.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeMl.Agent.Tests.Hosting;

/// <summary>The agent's composition (<c>AddAgent</c>) as the host builds it, on a bare container.</summary>
public sealed class CompositionTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("edgeml-composition-").FullName;

    [Fact]
    public void AddAgent_PredictionPipeline_OneInstanceWatchedByDriftCaptureAndGpio()
    {
        using var services = Compose();

        var pipeline = services.GetRequiredService<PredictionPipeline>();
        var observers = services.GetServices<IPredictionObserver>().ToList();

        Assert.Same(pipeline, services.GetRequiredService<PredictionPipeline>());
        Assert.Equal(5, observers.Count);
        Assert.Contains(services.GetRequiredService<EdgeMl.Agent.Probation.TrafficWindows>(), observers);
        Assert.Contains(services.GetRequiredService<EdgeMl.Agent.Probation.ShadowTap>(), observers);
        Assert.Contains(observers, o => o is DriftPredictionObserver);
        Assert.Contains(observers, o => o is CapturePredictionObserver);
        // GPIO triggers replay what the pipeline served: the cache they read is the observer, not a second copy.
        Assert.Contains(services.GetRequiredService<LatestSampleCache>(), observers);
    }

    [Fact]
    public void AddAgent_Source_IsAListOfPlainCallsWithoutLambdas()
    {
        var source = File.ReadAllText(Path.Combine(ModelFixtures.RepositoryRoot, "agent", "Hosting", "AgentServiceCollectionExtensions.cs"));
        var body = Regex.Match(source, @"AddAgent\(this IServiceCollection services, IConfiguration configuration\)\s*\{(?<body>.*?)\n    \}", RegexOptions.Singleline).Groups["body"].Value;

        Assert.NotEmpty(body);
        Assert.DoesNotContain("=>", body, StringComparison.Ordinal);
        Assert.All(body.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            line => Assert.Matches(@"^(ArgumentNullException\.ThrowIfNull\(configuration\);|services\.Add\w+\((configuration)?\);|return services;)$", line));
    }

    private ServiceProvider Compose()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EdgeMl:DataDirectory"] = _data,
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddAgent(configuration);
        return services.BuildServiceProvider();
    }

    public void Dispose() => Directory.Delete(_data, recursive: true);
}
