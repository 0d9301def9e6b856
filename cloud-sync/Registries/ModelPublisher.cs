using System.Globalization;
using System.Security.Cryptography;
using EdgeMl.Runtime.Packages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeMl.CloudSync.Registries;

/// <summary>
/// The operator side: uploads a signed package (files first, manifest last) and then adds it to the model's
/// <c>versions.json</c>, re-signed with a fresh expiry. A device never sees a listed version whose files are missing.
/// </summary>
public sealed class ModelPublisher(IModelRegistry registry, TimeProvider? time = null, ILogger<ModelPublisher>? logger = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _logger = logger ?? NullLogger<ModelPublisher>.Instance;

    /// <exception cref="PackageVerificationException">The package does not verify against <paramref name="key"/>.</exception>
    public async Task<VersionsDocument> PublishAsync(
        string packageFolder, SigningKey key, TimeSpan validity, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(key);
        var opened = ModelPackage.Open(packageFolder);
        var m = opened.Manifest;
        using var trusted = TrustedKeys.FromPem([key.ExportPublicKeyPem()]);
        var package = PackageVerifier.Verify(packageFolder, new TrustPolicy(trusted), new PackageExpectation(m.Name, m.Version), ct);
        var prefix = $"{m.Name}/{m.Version.ToString(CultureInfo.InvariantCulture)}";

        foreach (var file in m.Files)
        {
            await using var stream = new ProgressStream(File.OpenRead(Path.Combine(package.Folder, file.Path)), $"{prefix}/{file.Path}", file.Size, progress);
            await registry.WriteAsync($"{prefix}/{file.Path}", stream, ct).ConfigureAwait(false);
        }

        await WriteAsync($"{prefix}/{DetachedSignature.ManifestFileName}", File.ReadAllBytes(Path.Combine(package.Folder, DetachedSignature.ManifestFileName)), ct).ConfigureAwait(false);
        await WriteAsync($"{prefix}/{ModelManifest.FileName}", package.ManifestBytes.ToArray(), ct).ConfigureAwait(false);

        var now = _time.GetUtcNow();
        var existing = await ReadExistingAsync(m.Name, ct).ConfigureAwait(false);
        var entry = new VersionEntry(m.Version, Convert.ToHexStringLower(SHA256.HashData(package.ManifestBytes.Span))) { Published = now };
        var updated = existing.With(entry, now + validity);
        var json = updated.ToJson();
        await WriteAsync($"{m.Name}/{VersionsDocument.FileName}", json, ct).ConfigureAwait(false);
        await WriteAsync($"{m.Name}/{VersionsDocument.SignatureFileName}", key.Sign(json).ToJson(), ct).ConfigureAwait(false);
        Log.Published(_logger, m.Name, m.Version, registry.Description);
        return updated;
    }

    /// <summary>Re-signs the current <c>versions.json</c> with a new expiry, as a scheduled job does to keep devices from refusing it as frozen.</summary>
    public async Task<VersionsDocument> RenewAsync(string name, SigningKey key, TimeSpan validity, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(key);
        var existing = await ReadExistingAsync(name, ct).ConfigureAwait(false);
        var renewed = new VersionsDocument { Name = name, Expires = _time.GetUtcNow() + validity, Versions = existing.Versions };
        var json = renewed.ToJson();
        await WriteAsync($"{name}/{VersionsDocument.FileName}", json, ct).ConfigureAwait(false);
        await WriteAsync($"{name}/{VersionsDocument.SignatureFileName}", key.Sign(json).ToJson(), ct).ConfigureAwait(false);
        return renewed;
    }

    private async Task<VersionsDocument> ReadExistingAsync(string name, CancellationToken ct)
    {
        var bytes = await registry.TryReadAsync($"{name}/{VersionsDocument.FileName}", PackageLimits.MaxManifestBytes, ct).ConfigureAwait(false);
        if (bytes is null)
        {
            return new VersionsDocument { Name = name, Expires = _time.GetUtcNow() };
        }

        // The publisher re-signs whatever list is there; devices verify it, so a forged entry gains nothing unsigned.
        var doc = VersionsDocument.ParseUnverified(bytes);
        return doc.Name == name
            ? doc
            : throw new InvalidDataException($"{name}/{VersionsDocument.FileName} in {registry.Description} is not a version list of '{name}'");
    }

    private async Task WriteAsync(string path, byte[] bytes, CancellationToken ct)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        await registry.WriteAsync(path, stream, ct).ConfigureAwait(false);
    }
}
