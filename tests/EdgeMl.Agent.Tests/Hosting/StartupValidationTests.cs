using EdgeMl.Agent.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.Tests.Hosting;

/// <summary>The start-up report is built from the sections the features registered, not from a list kept in the host.</summary>
public sealed class StartupValidationTests
{
    [Fact]
    public void Validate_InvalidGpioAndHttp_BothReportedUnderTheirSections()
    {
        using var services = Compose(new()
        {
            ["EdgeMl:Gpio:Chip"] = "99",
            ["EdgeMl:Http:Urls"] = "ftp://127.0.0.1:21",
        });

        var problems = AgentHost.Validate(services);

        Assert.Contains(problems, p => p.StartsWith("EdgeMl:Gpio", StringComparison.Ordinal) && p.Contains("Chip", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("EdgeMl:Http", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_UploadNotConfigured_ItsSectionIsNotChecked()
    {
        using var services = Compose(new() { ["EdgeMl:Upload:MaxBatchRecords"] = "-1" });

        Assert.DoesNotContain(AgentHost.Validate(services), p => p.Contains("Upload", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_Defaults_NoProblems()
    {
        using var services = Compose([]);

        Assert.Empty(AgentHost.Validate(services));
    }

    /// <summary>A value the settings' generated binder cannot convert is named with its key, its value and what it should be.</summary>
    [Theory]
    [InlineData("EdgeMl:PullTimeout", "abc", "EdgeMl:PullTimeout: 'abc' is not a time span (hh:mm:ss).")]
    [InlineData("EdgeMl:Http:MaxRequestBodyBytes", "lots", "EdgeMl:Http:MaxRequestBodyBytes: 'lots' is not a whole number.")]
    [InlineData("EdgeMl:AllowUnsigned", "maybe", "EdgeMl:AllowUnsigned: 'maybe' is not a boolean (true or false).")]
    [InlineData("EdgeMl:Gpio:Triggers:0:Edge", "Sideways", "EdgeMl:Gpio:Triggers:0:Edge: 'Sideways' is not a GpioEdge: one of Rising, Falling, Both.")]
    [InlineData("EdgeMl:PullTimeout", "AccountKey=c2VjcmV0", "EdgeMl:PullTimeout: 'AccountKey=***' is not a time span (hh:mm:ss).")]
    public void Validate_ValueThatDoesNotConvert_NamedPlainly(string key, string value, string expected)
    {
        using var services = Compose(new() { [key] = value, ["EdgeMl:Gpio:Triggers:0:Pin"] = "4" });

        Assert.Contains(expected, AgentHost.Validate(services));
    }

    private static ServiceProvider Compose(Dictionary<string, string?> settings)
    {
        var data = Path.Combine(Path.GetTempPath(), $"edgeml-validate-{Guid.NewGuid():N}");
        settings["EdgeMl:DataDirectory"] = data;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(l => l.ClearProviders());
        services.AddSingleton<IConfiguration>(configuration);
        services.AddAgent(configuration);
        return services.BuildServiceProvider();
    }
}
