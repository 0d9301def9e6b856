using System.Text.Json.Nodes;

namespace EdgeMl.Agent.Tests.Deployment;

/// <summary>
/// The garbage collector the agent runs with wherever it is started (module image, plain service, tests): the
/// small-device settings are in the agent's runtimeconfig, not only in an image's environment.
/// </summary>
public sealed class RuntimeSettingsTests
{
    [Fact]
    public void Agent_runs_with_workstation_gc_without_the_background_collector_and_a_large_object_threshold_above_image_tensors()
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "edgeml.runtimeconfig.json")))!;
        var properties = config["runtimeOptions"]!["configProperties"]!;

        Assert.False(properties["System.GC.Server"]!.GetValue<bool>());
        Assert.False(properties["System.GC.Concurrent"]!.GetValue<bool>());

        // A 110 KB input copied for capture dies young instead of growing the large object heap toward a gen-2.
        Assert.Equal("262144", properties["System.GC.LOHThreshold"]!.ToString());
    }

    /// <summary>
    /// Settings are bound by code the configuration binder's generator wrote into each product assembly, not by
    /// reflection: what Native AOT and trimming need (the trimming and AOT analyzers fail the build on the rest).
    /// </summary>
    [Fact]
    public void Product_assemblies_bind_settings_with_generated_code()
    {
        var assemblies = new[] { typeof(AgentOptions).Assembly, typeof(EdgeMl.CloudSync.Upload.UploadOptions).Assembly };

        Assert.All(assemblies, a => Assert.Contains(a.GetTypes(), t => t.FullName!.Contains("BindingExtensions", StringComparison.Ordinal)));
    }
}
