using EdgeMl.CloudSync.IoTHub;
using EdgeMl.IoTHubSimulator;
using EdgeMl.Testing;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.CloudSync.Tests.IoTHub;

[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class SasTokenTests
{
    // The reference test vector (docs/iothub-mqtt.md §2), checked in Python, Node and .NET.
    private const string Key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    private const string Resource = "myhub.azure-devices.net/devices/dev1/modules/infer";
    private const string Token = "SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdev1%2Fmodules%2Finfer&sig=jWpK4AOKKVnu6ExaNe2C9PkObYRpUHs5HEt7fzBjXVg%3D&se=1700000000";

    [Fact]
    public void Create_ReferenceVector_MatchesExactly()
    {
        Assert.Equal(Token, SasToken.Create(Resource, Key, 1700000000));
    }

    [Fact]
    public void Prepare_ReferenceVector_EncodesResourceWithUpperCaseEscapes()
    {
        var (sr, toSign) = SasToken.Prepare(Resource, 1700000000);

        Assert.Equal("myhub.azure-devices.net%2Fdevices%2Fdev1%2Fmodules%2Finfer", sr);
        Assert.Equal(sr + "\n1700000000", toSign);
        Assert.Equal("jWpK4AOKKVnu6ExaNe2C9PkObYRpUHs5HEt7fzBjXVg=", SasToken.Sign(Key, toSign));
    }

    [Fact]
    public void Sign_LowerCaseEscapes_GivesTheOtherReferenceSignature()
    {
        Assert.Equal("b3HPTbJNiN2NEGtCfiCFoi01k+6F0v4vfyo4W+NaHHs=",
            SasToken.Sign(Key, "myhub.azure-devices.net%2fdevices%2fdev1%2fmodules%2finfer\n1700000000"));
    }

    [Fact]
    public void Format_WithPolicyName_AppendsSkn()
    {
        Assert.EndsWith("&skn=iothubowner", SasToken.Format("sr", "sig", 1, "iothubowner"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Provider_FakeClock_ExpiresOneTimeToLiveFromNow()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_699_996_400));
        var provider = new SasTokenProvider(new SharedKeySigner(Key), Resource, time, TimeSpan.FromHours(1));

        var (token, expires) = await provider.CreateAsync(CancellationToken.None);

        Assert.Equal(Token, token);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000), expires);
    }

    [Fact]
    public void SimulatorValidator_ReferenceToken_AcceptedWithinSkewAndRefusedAfter()
    {
        var at = DateTimeOffset.FromUnixTimeSeconds(1700000000);

        Assert.Null(SasValidator.Validate(Token, Resource, Key, at.AddMinutes(4)));
        Assert.Contains("expired", SasValidator.Validate(Token, Resource, Key, at.AddMinutes(6)), StringComparison.Ordinal);
    }

    [Fact]
    public void SimulatorValidator_LowerCaseEscapesSignedAsReceived_Accepted()
    {
        // The HMAC covers the raw sr: a client that escapes in lower case and signs what it sends is valid.
        var lower = "myhub.azure-devices.net%2fdevices%2fdev1%2fmodules%2finfer";
        var token = $"SharedAccessSignature sr={lower}&sig={Uri.EscapeDataString("b3HPTbJNiN2NEGtCfiCFoi01k+6F0v4vfyo4W+NaHHs=")}&se=1700000000";

        Assert.Null(SasValidator.Validate(token, Resource, Key, DateTimeOffset.FromUnixTimeSeconds(1699990000)));
    }

    [Theory]
    [InlineData("AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "does not match")]
    public void SimulatorValidator_WrongKey_Refused(string key, string expected)
    {
        Assert.Contains(expected, SasValidator.Validate(Token, Resource, key, DateTimeOffset.FromUnixTimeSeconds(1699990000)), StringComparison.Ordinal);
    }

    [Fact]
    public void SimulatorValidator_OtherAudience_Refused()
    {
        Assert.Contains("not", SasValidator.Validate(Token, "myhub.azure-devices.net/devices/dev2", Key, DateTimeOffset.FromUnixTimeSeconds(1699990000)), StringComparison.Ordinal);
    }
}
