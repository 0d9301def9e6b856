using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeMl.Runtime.Packages;

/// <summary>
/// <c>{name}/versions.json</c> in a registry: the versions of one model, each pinned to the SHA-256 of its
/// manifest, with an expiry so a registry that freezes on an old list is noticed. Signed in <c>versions.sig</c>.
/// </summary>
public sealed class VersionsDocument
{
    public const string SchemaV1 = "edgeml.versions/v1";
    public const string FileName = "versions.json";
    public const string SignatureFileName = "versions.sig";

    public string Schema { get; init; } = SchemaV1;

    public required string Name { get; init; }

    public required DateTimeOffset Expires { get; init; }

    public IReadOnlyList<VersionEntry> Versions { get; init; } = [];

    public VersionEntry? Latest => Versions.Count == 0 ? null : Versions.MaxBy(v => v.Version);

    public VersionEntry? Find(long version) => Versions.FirstOrDefault(v => v.Version == version);

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, VersionsJsonContext.Default.VersionsDocument);

    /// <summary>A copy with <paramref name="entry"/> added (replacing the same version) and a new expiry.</summary>
    public VersionsDocument With(VersionEntry entry, DateTimeOffset expires) => new()
    {
        Name = Name,
        Expires = expires,
        Versions = [.. Versions.Where(v => v.Version != entry.Version).Append(entry).OrderBy(v => v.Version)],
    };

    /// <summary>Reads a list without checking it: for the publisher, who re-signs it; devices use <see cref="ParseVerified"/>.</summary>
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
        ArgumentNullException.ThrowIfNull(trust);
        var what = $"{expectedName}/{FileName}";
        trust.Verify(utf8Json, signature, signaturePresent, what);
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

        if (doc.Name != expectedName)
        {
            throw new PackageVerificationException(VerificationFailure.NameMismatch, $"{what} names model '{doc.Name}'; expected '{expectedName}'");
        }

        return doc.Expires > now
            ? doc
            : throw new PackageVerificationException(VerificationFailure.Expired,
                $"{what} expired at {doc.Expires:O} (now {now:O}); the registry may be frozen on an old list, so it is refused until it is re-signed");
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
