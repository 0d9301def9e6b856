using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeMl.Runtime.Packages;

/// <summary>
/// A detached signature (<c>manifest.sig</c>, <c>versions.sig</c>): ECDSA P-256 with SHA-256 over the exact
/// bytes of the signed file, IEEE P1363 encoding, named by the signing key's id.
/// </summary>
public sealed record DetachedSignature(string KeyId, string Algorithm, string Signature)
{
    public const string EcdsaP256Sha256 = "ecdsa-p256-sha256";
    public const string ManifestFileName = "manifest.sig";

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, SigningJsonContext.Default.DetachedSignature);

    /// <exception cref="PackageVerificationException">The bytes are not a signature document.</exception>
    public static DetachedSignature Parse(ReadOnlySpan<byte> utf8Json, string what)
    {
        try
        {
            var sig = JsonSerializer.Deserialize(utf8Json, SigningJsonContext.Default.DetachedSignature);
            if (sig is { KeyId.Length: > 0, Signature.Length: > 0, Algorithm: EcdsaP256Sha256 })
            {
                return sig;
            }
        }
        catch (JsonException)
        {
        }

        throw new PackageVerificationException(VerificationFailure.MalformedSignature,
            $"the signature of {what} is not a {EcdsaP256Sha256} signature document ({{keyId, algorithm, signature}})");
    }
}

/// <summary>An ECDSA P-256 private key that signs manifests and version lists.</summary>
public sealed class SigningKey : IDisposable
{
    private readonly ECDsa _key;

    private SigningKey(ECDsa key)
    {
        _key = key;
        KeyId = KeyIds.Of(key);
    }

    public string KeyId { get; }

    public static SigningKey Create() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <exception cref="ArgumentException">The PEM holds no P-256 private key.</exception>
    public static SigningKey FromPem(string pem)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            if (key.KeySize != 256)
            {
                throw new ArgumentException($"the key is {key.KeySize}-bit; expected ECDSA P-256", nameof(pem));
            }

            _ = key.ExportParameters(includePrivateParameters: true);
            return new SigningKey(key);
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new ArgumentException($"the PEM holds no ECDSA P-256 private key: {e.Message}", nameof(pem), e);
        }
    }

    public string ExportPrivateKeyPem() => _key.ExportPkcs8PrivateKeyPem();

    public string ExportPublicKeyPem() => _key.ExportSubjectPublicKeyInfoPem();

    public DetachedSignature Sign(ReadOnlySpan<byte> content) =>
        new(KeyId, DetachedSignature.EcdsaP256Sha256, Convert.ToBase64String(_key.SignData(content, HashAlgorithmName.SHA256)));

    public void Dispose() => _key.Dispose();
}

/// <summary>Public keys the device trusts, by key id.</summary>
public sealed class TrustedKeys : IDisposable
{
    private readonly Dictionary<string, ECDsa> _keys = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> KeyIds => _keys.Keys;

    /// <exception cref="ArgumentException">A PEM holds no P-256 public key.</exception>
    public static TrustedKeys FromPem(IEnumerable<string> pems)
    {
        ArgumentNullException.ThrowIfNull(pems);
        var trusted = new TrustedKeys();
        foreach (var pem in pems)
        {
            var key = ECDsa.Create();
            try
            {
                key.ImportFromPem(pem);
            }
            catch (CryptographicException e)
            {
                key.Dispose();
                throw new ArgumentException($"a trusted key is not an ECDSA P-256 public key PEM: {e.Message}", nameof(pems), e);
            }

            trusted._keys[Packages.KeyIds.Of(key)] = key;
        }

        return trusted;
    }

    public bool Verify(DetachedSignature signature, ReadOnlySpan<byte> content, out bool knownKey)
    {
        ArgumentNullException.ThrowIfNull(signature);
        knownKey = _keys.TryGetValue(signature.KeyId, out var key);
        if (!knownKey)
        {
            return false;
        }

        Span<byte> raw = stackalloc byte[128];
        return Convert.TryFromBase64String(signature.Signature, raw, out var length)
            && key!.VerifyData(content, raw[..length], HashAlgorithmName.SHA256);
    }

    public void Dispose()
    {
        foreach (var key in _keys.Values)
        {
            key.Dispose();
        }
    }
}

internal static class KeyIds
{
    /// <summary>The first 8 bytes of SHA-256 over the SubjectPublicKeyInfo, in hex: stable across PEM formatting.</summary>
    public static string Of(ECDsa key) =>
        Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()).AsSpan(0, 8));
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(DetachedSignature))]
internal sealed partial class SigningJsonContext : JsonSerializerContext;
