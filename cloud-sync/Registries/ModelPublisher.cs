using System.Globalization;
using System.Security.Cryptography;
using EdgeMl.Runtime.Packages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeMl.CloudSync.Registries;

/// <summary>
/// The operator side: uploads a signed package (files first, manifest last) and then adds it to the model's
/// <c>versions.json</c>, re-signed with a fresh expiry and a higher sequence. A device never sees a listed version
/// whose files are missing. The existing list is extended only after it verifies: whoever can write the registry
/// cannot have an entry of their own signed by the publisher's key.
/// </summary>
public sealed class ModelPublisher(IModelRegistry registry, TimeProvider time, ILogger<ModelPublisher> logger)
{
    private readonly TimeProvider _time = time;
    private readonly ILogger _logger = logger;

    /// <summary>For a one-shot tool (the CLI, a test) with no host: the system clock, no logging.</summary>
    public ModelPublisher(IModelRegistry registry)
        : this(registry, TimeProvider.System, NullLogger<ModelPublisher>.Instance)
    {
    }

    /// <summary>Public key PEMs of other publishers of the same models whose signature on the existing list is accepted, besides the signing key's own.</summary>
    public IReadOnlyList<string> TrustedKeyPems { get; init; } = [];

    /// <summary>
    /// Start a new <c>versions.json</c> instead of extending the registry's (which is then not read): for a list that
    /// was lost, damaged or signed by a retired key. The versions it listed are no longer offered.
    /// </summary>
    public bool NewList { get; init; }

    /// <exception cref="PackageVerificationException">The package does not verify against <paramref name="key"/>, or the existing list does not verify.</exception>
    public async Task<VersionsDocument> PublishAsync(
        string packageFolder, SigningKey key, TimeSpan validity, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(key);
        var opened = ModelPackage.Open(packageFolder);
        var m = opened.Manifest;
        using var trusted = TrustedKeys.FromPem([key.ExportPublicKeyPem()]);
        var package = PackageVerifier.Verify(packageFolder, new TrustPolicy(trusted), new PackageExpectation(m.Name, m.Version), ct);

        // Before a single byte is uploaded: a list that does not verify stops the publication.
        var existing = await ReadExistingAsync(m.Name, key, ct).ConfigureAwait(false);
        var prefix = $"{m.Name}/{m.Version.ToString(CultureInfo.InvariantCulture)}";
        foreach (var file in m.Files)
        {
            await using var stream = new ProgressStream(File.OpenRead(Path.Combine(package.Folder, file.Path)), $"{prefix}/{file.Path}", file.Size, progress);
            await registry.WriteAsync($"{prefix}/{file.Path}", stream, ct).ConfigureAwait(false);
        }

        await WriteAsync($"{prefix}/{DetachedSignature.ManifestFileName}", File.ReadAllBytes(Path.Combine(package.Folder, DetachedSignature.ManifestFileName)), ct).ConfigureAwait(false);
        await WriteAsync($"{prefix}/{ModelManifest.FileName}", package.ManifestBytes.ToArray(), ct).ConfigureAwait(false);

        var now = _time.GetUtcNow();
        var entry = new VersionEntry(m.Version, Convert.ToHexStringLower(SHA256.HashData(package.ManifestBytes.Span))) { Published = now };
        var updated = existing.With(entry, now, now + validity);
        await WriteListAsync(updated, key, ct).ConfigureAwait(false);
        Log.Published(_logger, m.Name, m.Version, registry.Description, updated.Sequence);
        return updated;
    }

    /// <summary>Re-signs the current <c>versions.json</c> with a new expiry and a higher sequence, as a scheduled job does to keep devices from refusing it as frozen.</summary>
    /// <exception cref="PackageVerificationException">The existing list does not verify.</exception>
    public async Task<VersionsDocument> RenewAsync(string name, SigningKey key, TimeSpan validity, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(key);
        var existing = await ReadExistingAsync(name, key, ct).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var renewed = existing.Renewed(now, now + validity);
        await WriteListAsync(renewed, key, ct).ConfigureAwait(false);
        return renewed;
    }

    private async Task<VersionsDocument> ReadExistingAsync(string name, SigningKey key, CancellationToken ct)
    {
        var fresh = new VersionsDocument { Name = name, Expires = _time.GetUtcNow() };
        if (NewList)
        {
            Log.NewList(_logger, name, registry.Description);
            return fresh;
        }

        var what = $"{name}/{VersionsDocument.FileName} in {registry.Description}";
        var bytes = await registry.TryReadAsync($"{name}/{VersionsDocument.FileName}", PackageLimits.MaxManifestBytes, ct).ConfigureAwait(false);
        var signature = await registry.TryReadAsync($"{name}/{VersionsDocument.SignatureFileName}", PackageLimits.MaxSignatureBytes, ct).ConfigureAwait(false);
        if (bytes is null)
        {
            return signature is null
                ? fresh
                : throw new PackageVerificationException(VerificationFailure.InvalidManifest,
                    $"{what} is missing but its signature is there: the list may have been removed on purpose; nothing was published. Start a new list (--new-list) if that is intended");
        }

        using var keys = TrustedKeys.FromPem([key.ExportPublicKeyPem(), .. TrustedKeyPems]);
        try
        {
            return VersionsDocument.ParseSigned(bytes, signature, signature is not null, new TrustPolicy(keys), name);
        }
        catch (PackageVerificationException e)
        {
            throw new PackageVerificationException(e.Failure,
                $"the existing {what} does not verify ({e.Message}); nothing was published, so an entry someone else added is never signed with this key. "
                + "Trust the key that signed it (--trust), or start a new list (--new-list) that drops the versions listed there");
        }
    }

    private async Task WriteListAsync(VersionsDocument list, SigningKey key, CancellationToken ct)
    {
        var json = list.ToJson();
        await WriteAsync($"{list.Name}/{VersionsDocument.FileName}", json, ct).ConfigureAwait(false);
        await WriteAsync($"{list.Name}/{VersionsDocument.SignatureFileName}", key.Sign(json).ToJson(), ct).ConfigureAwait(false);
    }

    private async Task WriteAsync(string path, byte[] bytes, CancellationToken ct)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        await registry.WriteAsync(path, stream, ct).ConfigureAwait(false);
    }
}
