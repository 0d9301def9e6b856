using System.Globalization;
using EdgeMl.Runtime.Diagnostics;
using EdgeMl.Runtime.Packages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeMl.CloudSync.Registries;

/// <summary>What to pull: a model by name, a version (null for the latest listed), and whether a lower version is pinned on purpose.</summary>
public sealed record PullRequest(string Name, long? Version = null)
{
    /// <summary>The operator asks for exactly this version even if a higher one was accepted before.</summary>
    public bool Pinned { get; init; }

    /// <summary>Skip activation: download, verify and install only.</summary>
    public bool InstallOnly { get; init; }
}

/// <summary>The result of a pull: the version chosen and what activation made of it.</summary>
public sealed record PullResult(string Name, long Version, bool AlreadyActive, ActivationOutcome? Activation);

/// <summary>
/// The device side of distribution: signed version list → signed manifest → files into the download area →
/// full verification → atomic install → activation after the runtime's checks. Only a fully verified package
/// leaves the download area; any refusal leaves the active version as it was.
/// </summary>
public sealed class ModelPuller(
    IModelRegistry registry,
    ModelStore store,
    TrustPolicy trust,
    FileDownloader downloader,
    TimeProvider time,
    ILogger<ModelPuller> logger,
    DistributionMetrics metrics)
{
    private readonly TimeProvider _time = time;
    private readonly ILogger _logger = logger;

    /// <summary>For a one-shot tool (the CLI, a test) with no host: the system clock, no logging, metrics nobody collects.</summary>
    public ModelPuller(IModelRegistry registry, ModelStore store, TrustPolicy trust, FileDownloader downloader)
        : this(registry, store, trust, downloader, TimeProvider.System, NullLogger<ModelPuller>.Instance, DistributionMetrics.Unrecorded)
    {
    }

    /// <exception cref="PackageVerificationException">Refused: signature, expiry, an older list than seen, downgrade, hashes, paths.</exception>
    /// <exception cref="DownloadException">A file could not be fetched completely.</exception>
    /// <exception cref="RegistryException">The registry is unreachable or lacks the model.</exception>
    /// <exception cref="InsufficientSpaceException">The disk cannot hold the package.</exception>
    public async Task<PullResult> PullAsync(PullRequest request, IPackageValidator validator, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        try
        {
            var result = await PullCoreAsync(request, validator, progress, ct).ConfigureAwait(false);
            var outcome = result.AlreadyActive ? "already-active" : result.Activation is { Activated: false } ? "refused" : "activated";
            metrics.Pulls.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
            return result;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            metrics.Pulls.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
            throw;
        }
    }

    private async Task<PullResult> PullCoreAsync(PullRequest request, IPackageValidator validator, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(validator);
        var name = request.Name;
        _ = store.ModelFolder(name); // refuses a name that could leave the store or the registry layout
        using var check = EdgeMlTracing.Source.StartActivity("model.check");
        var listing = await ReadRequiredAsync($"{name}/{VersionsDocument.FileName}", PackageLimits.MaxManifestBytes, ct).ConfigureAwait(false);
        var listingSig = await registry.TryReadAsync($"{name}/{VersionsDocument.SignatureFileName}", PackageLimits.MaxSignatureBytes, ct).ConfigureAwait(false);
        var versions = VersionsDocument.ParseVerified(listing, listingSig, listingSig is not null, trust, name, _time.GetUtcNow());
        store.AcceptVersionList(name, versions);
        var entry = (request.Version is { } wanted ? versions.Find(wanted) : versions.Latest)
            ?? throw new PackageVerificationException(VerificationFailure.NotListed,
                $"{name} v{request.Version?.ToString(CultureInfo.InvariantCulture) ?? "latest"} is not listed in the signed versions.json of {registry.Description}; listed: {string.Join(", ", versions.Versions.Select(v => v.Version))}");
        store.CheckNotDowngrade(name, entry.Version, request.Pinned);
        check?.SetTag("edgeml.model.version", entry.Version);
        check?.Dispose(); // the check ends here; what follows is its siblings

        if (store.GetActive(name)?.Version == entry.Version && Directory.Exists(store.VersionFolder(name, entry.Version)))
        {
            Log.AlreadyActive(_logger, name, entry.Version);
            return new PullResult(name, entry.Version, AlreadyActive: true, Activation: null);
        }

        var expected = new PackageExpectation(name, entry.Version) { ManifestSha256 = entry.ManifestSha256 };
        if (!Directory.Exists(store.VersionFolder(name, entry.Version)))
        {
            Log.Pulling(_logger, name, entry.Version, registry.Description);
            await DownloadAsync(expected, progress, ct).ConfigureAwait(false);
        }

        store.RecordAccepted(name, entry.Version);
        if (request.InstallOnly)
        {
            return new PullResult(name, entry.Version, AlreadyActive: false, Activation: null);
        }

        var outcome = await store.ActivateAsync(name, entry.Version, validator, ct).ConfigureAwait(false);
        return new PullResult(name, entry.Version, AlreadyActive: false, outcome);
    }

    private async Task DownloadAsync(PackageExpectation expected, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        var prefix = $"{expected.Name}/{expected.Version.ToString(CultureInfo.InvariantCulture)}";
        var manifestBytes = await ReadRequiredAsync($"{prefix}/{ModelManifest.FileName}", PackageLimits.MaxManifestBytes, ct).ConfigureAwait(false);
        var sig = await registry.TryReadAsync($"{prefix}/{DetachedSignature.ManifestFileName}", PackageLimits.MaxSignatureBytes, ct).ConfigureAwait(false);

        // Checked before a single model byte is fetched: a bad manifest costs one small request.
        var manifest = PackageVerifier.VerifyManifest(manifestBytes, sig, sig is not null, trust, expected);
        var folder = store.DownloadFolder(expected.Name, expected.Version);
        Directory.CreateDirectory(folder);
        var root = Path.GetFullPath(folder);
        var remaining = manifest.Files.Sum(f =>
        {
            var have = PartialLength(Path.Combine(root, f.Path));
            return Math.Max(0, f.Size - have);
        });
        store.EnsureFreeSpace(remaining);

        using (var download = EdgeMlTracing.Source.StartActivity("model.download"))
        {
            download?.SetTag("edgeml.download.bytes", remaining);
            foreach (var file in manifest.Files)
            {
                var target = PackageVerifier.ResolveInside(root, file.Path, $"{expected.Name} v{expected.Version} manifest");
                await downloader.DownloadAsync(registry, $"{prefix}/{file.Path}", target, file.Size, file.Sha256, progress, ct).ConfigureAwait(false);
            }
        }

        Durable.WriteAllBytes(Path.Combine(root, ModelManifest.FileName), manifestBytes);
        var sigPath = Path.Combine(root, DetachedSignature.ManifestFileName);
        if (sig is not null)
        {
            Durable.WriteAllBytes(sigPath, sig);
        }
        else
        {
            File.Delete(sigPath);
        }

        PruneUnlisted(root, manifest);
        using var verify = EdgeMlTracing.Source.StartActivity("model.verify");
        var verified = PackageVerifier.Verify(root, trust, expected, ct);
        store.Install(verified, move: true, ct);
    }

    // A killed earlier try may have left temp files; only what the manifest lists moves into the store.
    private static void PruneUnlisted(string root, ModelManifest manifest)
    {
        var keep = manifest.Files.Select(f => Path.GetFullPath(Path.Combine(root, f.Path)))
            .Append(Path.Combine(root, ModelManifest.FileName))
            .Append(Path.Combine(root, DetachedSignature.ManifestFileName))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            if (!keep.Contains(file))
            {
                File.Delete(file);
            }
        }
    }

    private static long PartialLength(string target) =>
        File.Exists(target) ? new FileInfo(target).Length
        : File.Exists(target + FileDownloader.PartialSuffix) ? new FileInfo(target + FileDownloader.PartialSuffix).Length
        : 0;

    private async Task<byte[]> ReadRequiredAsync(string path, long maxBytes, CancellationToken ct) =>
        await registry.TryReadAsync(path, maxBytes, ct).ConfigureAwait(false)
        ?? throw new RegistryException(RegistryFailure.NotFound, $"{path} is not in {registry.Description}");
}
