using System.Text.Json.Nodes;
using EdgeMl.CloudSync.Secrets;

namespace EdgeMl.CloudSync.Tests.Secrets;

public sealed class SecretRedactorTests
{
    [Theory]
    [InlineData("HostName=hub.azure-devices.net;DeviceId=d1;SharedAccessKey=AAECAwQ=", "HostName=hub.azure-devices.net;DeviceId=d1;SharedAccessKey=***")]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k3y==;EndpointSuffix=core.windows.net", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=***;EndpointSuffix=core.windows.net")]
    [InlineData("SharedAccessSignature sr=hub%2Fdevices%2Fd1&sig=abc%3D&se=1700000000", "SharedAccessSignature ***")]
    [InlineData("https://a.blob.core.windows.net/c/x.parquet?sv=2024-05-04&sp=r&sig=AbC%2B", "https://a.blob.core.windows.net/c/x.parquet?***")]
    [InlineData("pull from https://user:hunter2@registry.example/edgeml failed", "pull from https://***@registry.example/edgeml failed")]
    [InlineData("Authorization: Bearer eyJhbGciOi.payload.sig", "Authorization: Bearer ***")]
    [InlineData("pull from https://ghp_t0ken@registry.example/edgeml failed", "pull from https://***@registry.example/edgeml failed")]
    [InlineData("https://registry.example/m?api_key=abc123&v=1", "https://registry.example/m?api_key=***&v=1")]
    [InlineData("registry 'https://a.blob.core.windows.net/models?sv=2024-05-04&sr=c&sig=S1G%2B' is not usable", "registry 'https://a.blob.core.windows.net/models?***' is not usable")]
    [InlineData("ocr-cls v3 activated on cpu", "ocr-cls v3 activated on cpu")]
    [InlineData("mqtts://broker.local:8883", "mqtts://broker.local:8883")]
    public void RedactValue_SecretPatterns_Masked(string value, string expected) =>
        Assert.Equal(expected, SecretRedactor.RedactValue(value));

    [Theory]
    [InlineData("EdgeMl:Mqtt:Password", true)]
    [InlineData("EdgeMl:Http:Token", true)]
    [InlineData("EdgeMl:IoTHub:ConnectionString", true)]
    [InlineData("ClientSecret", true)]
    [InlineData("API_KEY", true)]
    [InlineData("STORAGE_ACCOUNT_KEY", true)]
    [InlineData("MQTT_PASS", true)]
    [InlineData("EdgeMl__Mqtt__Password", true)]
    [InlineData("EdgeMl__Http__Token", true)]
    [InlineData("EdgeMl:Otlp:Headers", true)]
    [InlineData("EdgeMl__Otlp__Headers", true)]
    [InlineData("OTEL_EXPORTER_OTLP_HEADERS", true)]
    [InlineData("IOTEDGE_APIVERSION", false)]
    [InlineData("IOTEDGE_WORKLOADURI", false)]
    [InlineData("DOTNET_gcServer", false)]
    [InlineData("EdgeMl:IoTHub:ClientKeyPath", false)]
    [InlineData("EdgeMl:Signing:PublicKey", false)]
    [InlineData("EdgeMl:TrustedKeyFiles:0", false)]
    [InlineData("EdgeMl:DataDirectory", false)]
    public void IsSecretName_ConfigurationKeys_ByLastSegment(string key, bool secret) =>
        Assert.Equal(secret, SecretRedactor.IsSecretName(key));

    [Fact]
    public void Redact_Tree_ByNameAndByValueInNestedObjectsAndArrays()
    {
        var tree = new JsonObject
        {
            ["Mqtt"] = new JsonObject { ["Password"] = "plain words", ["Host"] = "broker.local" },
            ["events"] = new JsonArray("fetched https://x.blob.core.windows.net/m?se=2030&sig=zzz"),
            ["port"] = 8883,
        };

        SecretRedactor.Redact(tree);

        Assert.Equal("""{"Mqtt":{"Password":"***","Host":"broker.local"},"events":["fetched https://x.blob.core.windows.net/m?***"],"port":8883}""", tree.ToJsonString());
    }
}
