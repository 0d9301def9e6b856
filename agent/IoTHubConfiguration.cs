using Microsoft.Extensions.Configuration;

namespace EdgeMl.Agent;

/// <summary>Whether the agent talks to IoT Hub (or edgeHub): the features that need the hub register only then.</summary>
internal static class IoTHubConfiguration
{
    public const string Section = "EdgeMl:IoTHub";

    /// <summary>A connection string in configuration, or the variables IoT Edge gives a module.</summary>
    public static bool IsConfigured(IConfiguration configuration) =>
        configuration[$"{Section}:ConnectionString"] is { Length: > 0 }
        || Environment.GetEnvironmentVariable("EdgeHubConnectionString") is { Length: > 0 }
        || Environment.GetEnvironmentVariable("IotHubConnectionString") is { Length: > 0 }
        || Environment.GetEnvironmentVariable("IOTEDGE_WORKLOADURI") is { Length: > 0 };
}
