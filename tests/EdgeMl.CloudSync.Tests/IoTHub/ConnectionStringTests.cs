using EdgeMl.CloudSync.IoTHub;

namespace EdgeMl.CloudSync.Tests.IoTHub;

public sealed class ConnectionStringTests
{
    private const string Key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    [Fact]
    public void Parse_ModuleWithGateway_ReadsEveryField()
    {
        var cs = IoTHubConnectionString.Parse($"HostName=myhub.azure-devices.net;DeviceId=edge01;ModuleId=infer;SharedAccessKey={Key};GatewayHostName=edgebox");

        Assert.Equal("myhub.azure-devices.net", cs.HostName);
        Assert.Equal("edge01", cs.DeviceId);
        Assert.Equal("infer", cs.ModuleId);
        Assert.Equal(Key, cs.SharedAccessKey);
        Assert.Equal("edgebox", cs.GatewayHostName);
        Assert.False(cs.UsesX509);
    }

    [Fact]
    public void Parse_KeysInAnyCaseAndOrder_Accepted()
    {
        var cs = IoTHubConnectionString.Parse($" deviceid=d ; SHAREDACCESSKEY={Key} ; hostname=h ;");

        Assert.Equal(("h", "d"), (cs.HostName, cs.DeviceId));
    }

    [Fact]
    public void Parse_X509_NeedsNoKey()
    {
        var cs = IoTHubConnectionString.Parse("HostName=h;DeviceId=d;x509=true");

        Assert.True(cs.UsesX509);
        Assert.Null(cs.SharedAccessKey);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("HostName=h;DeviceId=d", "neither a SharedAccessKey nor x509=true")]
    [InlineData("DeviceId=d;SharedAccessKey=" + Key, "no HostName")]
    [InlineData("HostName=h;SharedAccessKey=" + Key, "no DeviceId")]
    [InlineData("HostName=h;DeviceId=d;SharedAccessKey=not base64!", "not valid base64")]
    [InlineData("HostName=h;DeviceId=d;garbage;SharedAccessKey=" + Key, "malformed field")]
    [InlineData("HostName=h;HostName=g;DeviceId=d;SharedAccessKey=" + Key, "repeats the field 'HostName'")]
    [InlineData("HostName=h;DeviceId=d;x509=true;SharedAccessKey=" + Key, "both x509=true and a SharedAccessKey")]
    [InlineData("HostName=h;DeviceId=d;SharedAccessSignature=SharedAccessSignature sr=x", "SharedAccessSignature")]
    public void TryParse_Malformed_FailsWithClearError(string value, string expected)
    {
        Assert.False(IoTHubConnectionString.TryParse(value, out var parsed, out var error));
        Assert.Null(parsed);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Malformed_ThrowsFormatExceptionWithoutTheKey()
    {
        var ex = Assert.Throws<FormatException>(() => IoTHubConnectionString.Parse("HostName=h;SharedAccessKey=" + Key));

        Assert.DoesNotContain(Key, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_HidesTheKey()
    {
        var cs = IoTHubConnectionString.Parse($"HostName=h;DeviceId=d;SharedAccessKey={Key}");

        Assert.DoesNotContain(Key, cs.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("edgebox", 8883, "edgebox", 8883)]
    [InlineData("127.0.0.1:1234", 8883, "127.0.0.1", 1234)]
    [InlineData("host:notaport", 443, "host:notaport", 443)]
    public void SplitHostPort_HostOrHostPort_Splits(string value, int fallback, string host, int port)
    {
        Assert.Equal((host, port), IoTHubIdentityResolver.SplitHostPort(value, fallback));
    }
}
