using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeMl.Runtime.Packages;

/// <summary>
/// <c>{name}/versions.json</c> in a registry: the versions of one model, each pinned to the SHA-256 of its
/// manifest, with an expiry and a sequence number so a registry that freezes on an old list is noticed: a device
/// refuses an expired list and a list older than the newest it has accepted. Signed in <c>versions.sig</c>.
/// </summary>
public sealed class VersionsDocument
{
    public const string SchemaV1 = "edgeml.versions/v1";
    public const string FileName = "versions.json";
    public const string SignatureFileName = "versions.sig";

    public string Schema { get; init; } = SchemaV1;

    public required string Name { get; init; }

    /// <summary>
    /// Raised by every publication; devices refuse a list with a lower one than they have accepted. 0 in lists
    /// written before sequences existed.
    /// </summary>
    public long Sequence { get; init; }

    public required DateTimeOffset Expires { get; init; }

    public IReadOnlyList<VersionEntry> Versions { get; init; } = [];

    public VersionEntry? Latest => Versions.Count == 0 ? null : Versions.MaxBy(v => v.Version);

    public VersionEntry? Find(long version) => Versions.FirstOrDefault(v => v.Version == version);

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, VersionsJsonContext.Default.VersionsDocument);

    /// <summary>
    /// The sequence of a list published at <paramref name="now"/> after this one: above this one's, and at least
    /// the publication time in Unix milliseconds, so that a list started afresh still supersedes every list
    /// devices have seen (as long as the publisher's clock is right).
    /// </summary>
    public long NextSequence(DateTimeOffset now) => Math.Max(Sequence + 1, now.ToUnixTimeMilliseconds());

    /// <summary>The next publication: <paramref name="entry"/> added (replacing the same version), a new expiry and a higher sequence.</summary>
    public VersionsDocument With(VersionEntry entry, DateTimeOffset now, DateTimeOffset expires) => new()
    {
        Name = Name,
        Sequence = NextSequence(now),
        Expires = expires,
        Versions = [.. Versions.Where(v => v.Version != entry.Version).Append(entry).OrderBy(v => v.Version)],
    };

    /// <summary>The same versions published again at <paramref name="now"/>, with a new expiry and a higher sequence.</summary>
    public VersionsDocument Renewed(DateTimeOffset now, DateTimeOffset expires) => new()
    {
        Name = Name,
        Sequence = NextSequence(now),
        Expires = expires,
        Versions = Versions,
    };

    /// <summary>Reads a list without checking it: for tests and tools that only look; devices use <see cref="ParseVerified"/>, publishers <see cref="ParseSigned"/>.</summary>
    /// <exception cref="InvalidDataException">Not a version list.</exception>
    public static VersionsDocument ParseUnverified(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            return JsonSerializer.Deserialize(utf8Json, VersionsJsonContext.Default.VersionsDocument) is { Schema: SchemaV1 } doc
                ? doc
                : throw new InvalidDataException($"not an {SchemaV1} document");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"not an {SchemaV1} document: {e.Message}", e);
        }
    }

    /// <summary>Checks the signature, the schema, the model name and the expiry, in that order.</summary>
    /// <exception cref="PackageVerificationException">Refused; the failure says why.</exception>
    public static VersionsDocument ParseVerified(
        ReadOnlySpan<byte> utf8Json, ReadOnlySpan<byte> signature, bool signaturePresent, TrustPolicy trust, string expectedName, DateTimeOffset now)
    {
        var doc = ParseSigned(utf8Json, signature, signaturePresent, trust, expectedName);
        return doc.Expires > now
            ? doc
            : throw new PackageVerificationException(VerificationFailure.Expired,
                $"{expectedName}/{FileName} expired at {doc.Expires:O} (now {now:O}); the registry may be frozen on an old list, so it is refused until it is re-signed");
    }

    /// <summary>
    /// Checks the signature, the schema and the model name but not the expiry: for a publisher about to extend
    /// its own list, which may have expired in the meantime.
    /// </summary>
    /// <exception cref="PackageVerificationException">Refused; the failure says why.</exception>
    public static VersionsDocument ParseSigned(ReadOnlySpan<byte> utf8Json, ReadOnlySpan<byte> signature, bool signaturePresent, TrustPolicy trust, string expectedName)
    {
        ArgumentNullException.ThrowIfNull(trust);
        trust.Verify(utf8Json, signature, signaturePresent, $"{expectedName}/{FileName}");
        return ReadSignedContent(utf8Json, expectedName);
    }

    /// <summary>
    /// The checks after the signature: the schema, every entry, and the model name. Signed bytes are still input
    /// (a careless publisher, a build tool's bug), so this is fuzzed on its own (fuzz/).
    /// </summary>
    /// <exception cref="PackageVerificationException">Refused; the failure says why.</exception>
    internal static VersionsDocument ReadSignedContent(ReadOnlySpan<byte> utf8Json, string expectedName)
    {
        var what = $"{expectedName}/{FileName}";
        VersionsDocument? doc;
        try
        {
            doc = JsonSerializer.Deserialize(utf8Json, VersionsJsonContext.Default.VersionsDocument);
        }
        catch (JsonException e)
        {
            throw new PackageVerificationException(VerificationFailure.InvalidManifest, $"{what} is not valid JSON: {e.Message}");
        }

        if (doc is null || doc.Schema != SchemaV1)
        {
            throw new PackageVerificationException(VerificationFailure.InvalidManifest, $"{what} schema is '{doc?.Schema}'; expected '{SchemaV1}'");
        }

        if (doc.Versions is null || doc.Versions.Any(v => v?.ManifestSha256 is null))
        {
            throw new PackageVerificationException(VerificationFailure.InvalidManifest, $"{what} needs a 'versions' array whose entries each have a 'manifestSha256'");
        }

        return doc.Name == expectedName
            ? doc
            : throw new PackageVerificationException(VerificationFailure.NameMismatch, $"{what} names model '{doc.Name}'; expected '{expectedName}'");
    }
}

/// <summary>One published version: its number and the SHA-256 of its exact <c>manifest.json</c> bytes.</summary>
public sealed record VersionEntry(long Version, string ManifestSha256)
{
    public DateTimeOffset? Published { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(VersionsDocument))]
internal sealed partial class VersionsJsonContext : JsonSerializerContext;
