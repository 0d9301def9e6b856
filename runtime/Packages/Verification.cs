namespace EdgeMl.Runtime.Packages;

/// <summary>Why a package or version list was refused.</summary>
public enum VerificationFailure
{
    Unsigned,
    MalformedSignature,
    UnknownKey,
    BadSignature,
    Expired,

    /// <summary>A signed version list older than one the device has already accepted: a registry replaying it to freeze the device.</summary>
    OlderList,
    Downgrade,
    InvalidManifest,
    NameMismatch,
    VersionMismatch,
    NotListed,
    ManifestHashMismatch,
    SizeMismatch,
    HashMismatch,
    UnsafePath,
    ExternalDataOutside,
}

/// <summary>A package, file or version list that must not be used; <see cref="Failure"/> says why.</summary>
public sealed class PackageVerificationException(VerificationFailure failure, string message) : Exception(message)
{
    public VerificationFailure Failure { get; } = failure;
}

/// <summary>What the device trusts: keys by id, and whether unsigned content is allowed (off unless the operator says so).</summary>
public sealed class TrustPolicy(TrustedKeys keys, bool allowUnsigned = false)
{
    public TrustedKeys Keys { get; } = keys;

    public bool AllowUnsigned { get; } = allowUnsigned;

    /// <summary>Checks a detached signature over <paramref name="content"/>; returns the signing key id, or null when unsigned content is allowed.</summary>
    /// <exception cref="PackageVerificationException">Unsigned, malformed, unknown key or bad signature.</exception>
    public string? Verify(ReadOnlySpan<byte> content, ReadOnlySpan<byte> signatureJson, bool signaturePresent, string what)
    {
        if (!signaturePresent)
        {
            return AllowUnsigned
                ? null
                : throw new PackageVerificationException(VerificationFailure.Unsigned,
                    $"{what} has no signature; expected one by a trusted key ({Describe()}) unless unsigned packages are allowed");
        }

        var signature = DetachedSignature.Parse(signatureJson, what);
        if (Keys.Verify(signature, content, out var known))
        {
            return signature.KeyId;
        }

        return known
            ? throw new PackageVerificationException(VerificationFailure.BadSignature,
                $"the signature of {what} by key {signature.KeyId} does not match its bytes; the content or the signature was altered")
            : throw new PackageVerificationException(VerificationFailure.UnknownKey,
                $"{what} is signed by key {signature.KeyId}, which is not trusted; expected one of {Describe()}");
    }

    private string Describe() => Keys.KeyIds.Count == 0 ? "no keys configured" : string.Join(", ", Keys.KeyIds);
}
