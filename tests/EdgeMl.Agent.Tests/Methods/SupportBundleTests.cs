using System.Collections;
using EdgeMl.Agent.Methods;
using Microsoft.Extensions.Configuration;

namespace EdgeMl.Agent.Tests.Methods;

public sealed class SupportBundleTests
{
    [Fact]
    public void EnvironmentVariables_ByNamePrefix_OthersLeftOutAndSecretNamesMasked()
    {
        var variables = new Hashtable
        {
            ["API_KEY"] = "ak-1234",
            ["STORAGE_ACCOUNT_KEY"] = "sak-5678",
            ["MQTT_PASS"] = "mp-90",
            ["PATH"] = "/usr/bin",
            ["EdgeMl__Mqtt__Password"] = "emp-12",
            ["EdgeMl__DataDirectory"] = "/var/lib/edgeml",
            ["IOTEDGE_MODULEID"] = "edgeml",
            ["DOTNET_gcServer"] = "0",
            ["EdgeMl__Upload__ContainerUri"] = "https://a.blob.core.windows.net/c?sv=1&sig=SIG99",
        };

        var listed = SupportBundle.EnvironmentVariables(variables);

        Assert.Equal(["DOTNET_gcServer", "EdgeMl__DataDirectory", "EdgeMl__Mqtt__Password", "EdgeMl__Upload__ContainerUri", "IOTEDGE_MODULEID"], listed.Select(p => p.Key));
        Assert.Equal("***", listed["EdgeMl__Mqtt__Password"]!.GetValue<string>());
        Assert.Equal("/var/lib/edgeml", listed["EdgeMl__DataDirectory"]!.GetValue<string>());
    }

    [Fact]
    public void Configuration_OnlyTheSectionsTheAgentReads()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EdgeMl:DataDirectory"] = "/data",
            ["Logging:LogLevel:Default"] = "Information",
            ["API_KEY"] = "ak-1234",
            ["HOME"] = "/root",
        }).Build();

        var tree = SupportBundle.Configuration(configuration);

        Assert.Equal(["EdgeMl", "Logging"], tree.Select(p => p.Key));
    }
}
