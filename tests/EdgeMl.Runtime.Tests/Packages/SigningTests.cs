using System.Text;
using EdgeMl.Runtime.Packages;

namespace EdgeMl.Runtime.Tests.Packages;

public sealed class SigningTests
{
    private static readonly byte[] Content = Encoding.UTF8.GetBytes("{\"schema\":\"edgeml.model/v1\"}");

    [Fact]
    public void Verify_SignedByTrustedKey_ReturnsKeyId()
    {
        using var key = SigningKey.Create();
        using var trusted = TrustedKeys.FromPem([key.ExportPublicKeyPem()]);
        var sig = key.Sign(Content).ToJson();

        var keyId = new TrustPolicy(trusted).Verify(Content, sig, signaturePresent: true, "test");

        Assert.Equal(key.KeyId, keyId);
    }

    [Fact]
    public void Verify_FlippedBitInContent_RefusedAsBadSignature()
    {
        using var key = SigningKey.Create();
        using var trusted = TrustedKeys.FromPem([key.ExportPublicKeyPem()]);
        var sig = key.Sign(Content).ToJson();
        var tampered = (byte[])Content.Clone();
        tampered[3] ^= 1;

        var e = Assert.Throws<PackageVerificationException>(() => new TrustPolicy(trusted).Verify(tampered, sig, true, "test"));

        Assert.Equal(VerificationFailure.BadSignature, e.Failure);
    }

    [Fact]
    public void Verify_FlippedBitInSignature_RefusedAsBadSignature()
    {
        using var key = SigningKey.Create();
        using var trusted = TrustedKeys.FromPem([key.ExportPublicKeyPem()]);
        var signature = key.Sign(Content);
        var raw = Convert.FromBase64String(signature.Signature);
        raw[10] ^= 0x10;
        var sig = (signature with { Signature = Convert.ToBase64String(raw) }).ToJson();

        var e = Assert.Throws<PackageVerificationException>(() => new TrustPolicy(trusted).Verify(Content, sig, true, "test"));

        Assert.Equal(VerificationFailure.BadSignature, e.Failure);
    }

    [Fact]
    public void Verify_UnknownKey_RefusedNamingTheKey()
    {
        using var key = SigningKey.Create();
        using var other = SigningKey.Create();
        using var trusted = TrustedKeys.FromPem([other.ExportPublicKeyPem()]);

        var e = Assert.Throws<PackageVerificationException>(() => new TrustPolicy(trusted).Verify(Content, key.Sign(Content).ToJson(), true, "test"));

        Assert.Equal(VerificationFailure.UnknownKey, e.Failure);
        Assert.Contains(key.KeyId, e.Message, StringComparison.Ordinal);
        Assert.Contains(other.KeyId, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_NoSignature_RefusedUnlessAllowed()
    {
        using var trusted = TrustedKeys.FromPem([]);

        var e = Assert.Throws<PackageVerificationException>(() => new TrustPolicy(trusted).Verify(Content, [], false, "test"));

        Assert.Equal(VerificationFailure.Unsigned, e.Failure);
        Assert.Null(new TrustPolicy(trusted, allowUnsigned: true).Verify(Content, [], false, "test"));
    }

    [Fact]
    public void Verify_GarbageSignature_RefusedAsMalformed()
    {
        using var trusted = TrustedKeys.FromPem([]);

        var e = Assert.Throws<PackageVerificationException>(() => new TrustPolicy(trusted).Verify(Content, "nope"u8, true, "test"));

        Assert.Equal(VerificationFailure.MalformedSignature, e.Failure);
    }

    [Fact]
    public void FromPem_RoundTrip_KeepsKeyId()
    {
        using var key = SigningKey.Create();
        using var again = SigningKey.FromPem(key.ExportPrivateKeyPem());

        Assert.Equal(key.KeyId, again.KeyId);
    }

    [Fact]
    public void ParseVerified_Expired_RefusedAsFreezeAttack()
    {
        using var key = SigningKey.Create();
        using var trusted = TrustedKeys.FromPem([key.ExportPublicKeyPem()]);
        var now = new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);
        var json = new VersionsDocument { Name = "cls", Expires = now.AddSeconds(-1), Versions = [new VersionEntry(1, new string('a', 64))] }.ToJson();

        var e = Assert.Throws<PackageVerificationException>(() =>
            VersionsDocument.ParseVerified(json, key.Sign(json).ToJson(), true, new TrustPolicy(trusted), "cls", now));

        Assert.Equal(VerificationFailure.Expired, e.Failure);
        Assert.Contains("expired", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseVerified_OtherModelsList_RefusedAsNameMismatch()
    {
        using var key = SigningKey.Create();
        using var trusted = TrustedKeys.FromPem([key.ExportPublicKeyPem()]);
        var now = DateTimeOffset.UnixEpoch;
        var json = new VersionsDocument { Name = "other", Expires = now.AddDays(1) }.ToJson();

        var e = Assert.Throws<PackageVerificationException>(() =>
            VersionsDocument.ParseVerified(json, key.Sign(json).ToJson(), true, new TrustPolicy(trusted), "cls", now));

        Assert.Equal(VerificationFailure.NameMismatch, e.Failure);
    }
}
