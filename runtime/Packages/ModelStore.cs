using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeMl.Runtime.Packages;

/// <summary>
/// The on-disk model store: <c>models/{name}/{version}/</c> folders that appear whole or not at all (written
/// to a temp folder, fsynced, renamed), and <c>models/{name}/active.json</c> replaced atomically, so a kill at
/// any instant leaves the old or the new version active and intact. File system only; no network.
/// </summary>
public sealed class ModelStore
{
    private const string StagingPrefix = ".staging-";
    private const string TrashPrefix = ".trash-";
    private readonly ModelStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>For a one-shot tool (the CLI, a test) with no host: the system clock, no logging.</summary>
    public ModelStore(ModelStoreOptions options)
        : this(options, TimeProvider.System, NullLogger<ModelStore>.Instance)
    {
    }

    public ModelStore(ModelStoreOptions options, TimeProvider time, ILogger<ModelStore> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.DataDirectory);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options;
        _time = time;
        _logger = logger;
        Root = Path.GetFullPath(options.DataDirectory);
    }

    public string Root { get; }

    public string ModelsFolder => Path.Combine(Root, "models");

    /// <exception cref="ArgumentException">The name is not a valid model name (it could leave the store).</exception>
    public string ModelFolder(string name) =>
        ManifestRules.IsValidName(name)
            ? Path.Combine(ModelsFolder, name)
            : throw new ArgumentException($"model name '{name}' must be 1-64 characters of a-z, 0-9, '-', '_' or '.', starting with a letter or digit", nameof(name));

    public string VersionFolder(string name, long version) => Path.Combine(ModelFolder(name), version.ToString(CultureInfo.InvariantCulture));

    /// <summary>Where a download of a version collects its files before verification; never served from.</summary>
    public string DownloadFolder(string name, long version) =>
        Path.Combine(Root, "downloads", Path.GetFileName(ModelFolder(name)), version.ToString(CultureInfo.InvariantCulture));

    public ActiveRecord? GetActive(string name) => StoreJsonContext.Read(ActivePath(name), StoreJsonContext.Default.ActiveRecord);

    public RejectionRecord? GetLastRejection(string name) => StoreJsonContext.Read(Path.Combine(ModelFolder(name), "rejected.json"), StoreJsonContext.Default.RejectionRecord);

    public long? GetHighestAccepted(string name) => StoreJsonContext.Read(AcceptedPath(name), StoreJsonContext.Default.AcceptedRecord)?.Highest;

    /// <summary>Installed versions, complete folders only, ascending.</summary>
    public IReadOnlyList<long> GetInstalledVersions(string name)
    {
        var folder = ModelFolder(name);
        return !Directory.Exists(folder)
            ? []
            : Directory.EnumerateDirectories(folder)
                .Select(d => long.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1)
                .Where(v => v > 0)
                .Order()
                .ToArray();
    }

    /// <summary>Refuses a version below the highest ever accepted, unless the operator pinned it on purpose.</summary>
    /// <exception cref="PackageVerificationException">A downgrade that is not pinned.</exception>
    public void CheckNotDowngrade(string name, long version, bool pinned)
    {
        var highest = GetHighestAccepted(name);
        if (highest is { } h && version < h)
        {
            if (pinned)
            {
                Log.PinnedDowngrade(_logger, name, version, h);
                return;
            }

            throw new PackageVerificationException(VerificationFailure.Downgrade,
                $"{name} v{version} is lower than v{h}, the highest version ever accepted; refused as a possible rollback attack unless the operator pins v{version}");
        }
    }

    /// <summary>Durably raises the floor for <paramref name="name"/> to <paramref name="version"/> (never lowers it).</summary>
    public void RecordAccepted(string name, long version)
    {
        if (GetHighestAccepted(name) is { } h && h >= version)
        {
            return;
        }

        Durable.WriteAllBytes(AcceptedPath(name), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
            new AcceptedRecord(version, _time.GetUtcNow()), StoreJsonContext.Default.AcceptedRecord));
    }

    /// <summary>The sequence of the newest signed <c>versions.json</c> accepted for <paramref name="name"/>, or null before the first.</summary>
    public long? GetSeenListSequence(string name) => StoreJsonContext.Read(SeenListPath(name), StoreJsonContext.Default.SeenListRecord)?.Sequence;

    /// <summary>
    /// Accepts a verified version list only if it is not older than the newest accepted before, and durably
    /// remembers a newer one, as TUF's timestamp role does: a registry cannot freeze a device on an old, still
    /// unexpired list once the device has seen a newer one.
    /// </summary>
    /// <exception cref="PackageVerificationException">The list is older than the newest accepted.</exception>
    public void AcceptVersionList(string name, VersionsDocument list)
    {
        ArgumentNullException.ThrowIfNull(list);
        var seen = GetSeenListSequence(name);
        if (list.Sequence < seen)
        {
            throw new PackageVerificationException(VerificationFailure.OlderList,
                $"{name}/{VersionsDocument.FileName} has sequence {list.Sequence}, older than the list already seen (sequence {seen}); a registry that replays an old list is refused, so it cannot hide newer versions");
        }

        if (list.Sequence != seen)
        {
            Durable.WriteAllBytes(SeenListPath(name), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
                new SeenListRecord(list.Sequence, list.Expires, _time.GetUtcNow()), StoreJsonContext.Default.SeenListRecord));
        }
    }

    /// <exception cref="InsufficientSpaceException">Fewer free bytes than <paramref name="bytes"/> plus the margin.</exception>
    public void EnsureFreeSpace(long bytes)
    {
        Directory.CreateDirectory(Root);
        var free = _options.FreeSpaceProbe(Root);
        var needed = bytes + _options.FreeSpaceMarginBytes;
        if (free < needed)
        {
            throw new InsufficientSpaceException(
                $"{Root} has {free} bytes free; the package needs {bytes} plus a margin of {_options.FreeSpaceMarginBytes} ({needed} in all)");
        }
    }

    /// <summary>
    /// Puts a verified package folder in place as <c>models/{name}/{version}/</c>: copied (or moved, when
    /// <paramref name="move"/>) into a temp folder, fsynced, then renamed. An existing version is left as is.
    /// </summary>
    public string Install(ModelPackage verified, bool move, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(verified);
        var m = verified.Manifest;
        var target = VersionFolder(m.Name, m.Version);
        if (Directory.Exists(target))
        {
            return target;
        }

        var modelFolder = ModelFolder(m.Name);
        Directory.CreateDirectory(modelFolder);
        var staging = Path.Combine(modelFolder, StagingPrefix + Guid.NewGuid().ToString("N"));
        if (move)
        {
            Directory.Move(verified.Folder, staging);
        }
        else
        {
            Directory.CreateDirectory(staging);
            foreach (var relative in m.Files.Select(f => f.Path).Append(ModelManifest.FileName).Append(DetachedSignature.ManifestFileName))
            {
                ct.ThrowIfCancellationRequested();
                var source = Path.Combine(verified.Folder, relative);
                if (File.Exists(source))
                {
                    var destination = Path.Combine(staging, relative);
                    Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                    File.Copy(source, destination);
                }
            }
        }

        Durable.FlushTree(staging);
        Directory.Move(staging, target);
        Durable.FlushDirectory(modelFolder);
        Log.Installed(_logger, m.Name, m.Version, target);
        return target;
    }

    /// <summary>
    /// Makes an installed version active once <paramref name="validator"/> (the runtime's load, warm-up and
    /// golden check) accepts it. A refused candidate stays inactive, the active version is untouched, and the
    /// reason is kept in <c>rejected.json</c>.
    /// </summary>
    public async Task<ActivationOutcome> ActivateAsync(string name, long version, IPackageValidator validator, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(validator);
        var current = GetActive(name);
        var package = ModelPackage.Open(VersionFolder(name, version));
        var verdict = await validator.ValidateAsync(package, ct).ConfigureAwait(false);
        if (!verdict.Accepted)
        {
            var stage = verdict.Stage ?? "validation";
            var reason = verdict.Reason ?? "refused";
            Durable.WriteAllBytes(Path.Combine(ModelFolder(name), "rejected.json"), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
                new RejectionRecord(version, stage, reason, _time.GetUtcNow()), StoreJsonContext.Default.RejectionRecord));
            Log.CandidateRejected(_logger, name, version, stage, reason, current?.Version);
            return new ActivationOutcome(current?.Version, version, verdict);
        }

        IReadOnlyList<long> history = current is null || current.Version == version
            ? current?.History ?? []
            : [current.Version, .. current.History.Where(v => v != version && v != current.Version)];
        WriteActive(name, new ActiveRecord(version, history, _time.GetUtcNow()));
        Log.Activated(_logger, name, version, current is null ? "nothing" : $"v{current.Version}");
        ApplyRetention(name);
        return new ActivationOutcome(version, version, verdict);
    }

    /// <summary>
    /// Makes <paramref name="good"/> active again in place of <paramref name="refused"/> once <paramref name="validator"/>
    /// accepts it, and records <paramref name="refused"/> in <c>rejected.json</c>; <paramref name="refused"/> leaves
    /// the history of good versions. Nothing changes when the validator refuses.
    /// </summary>
    public async Task<ActivationOutcome> ReinstateAsync(string name, long good, long refused, string stage, string reason, IPackageValidator validator, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(validator);
        var current = GetActive(name);
        var verdict = await validator.ValidateAsync(ModelPackage.Open(VersionFolder(name, good)), ct).ConfigureAwait(false);
        if (!verdict.Accepted)
        {
            return new ActivationOutcome(current?.Version, good, verdict);
        }

        Durable.WriteAllBytes(Path.Combine(ModelFolder(name), "rejected.json"), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
            new RejectionRecord(refused, stage, reason, _time.GetUtcNow()), StoreJsonContext.Default.RejectionRecord));
        WriteActive(name, new ActiveRecord(good, (current?.History ?? []).Where(v => v != good && v != refused).ToArray(), _time.GetUtcNow()));
        Log.RolledBack(_logger, name, refused, good);
        return new ActivationOutcome(good, good, verdict);
    }

    /// <summary>Makes the previous good version active again; null when there is none.</summary>
    public ActiveRecord? Rollback(string name)
    {
        var current = GetActive(name);
        if (current?.Previous is not { } previous || !Directory.Exists(VersionFolder(name, previous)))
        {
            return null;
        }

        var record = new ActiveRecord(previous, current.History.Skip(1).ToArray(), _time.GetUtcNow());
        WriteActive(name, record);
        Log.RolledBack(_logger, name, current.Version, previous);
        return record;
    }

    /// <summary>
    /// What the next start does first: removes staging and trash folders and temp files that a kill left
    /// behind, and download folders of versions already installed. Partial downloads are kept for resuming.
    /// </summary>
    public void Recover()
    {
        if (Directory.Exists(ModelsFolder))
        {
            foreach (var modelFolder in Directory.EnumerateDirectories(ModelsFolder))
            {
                foreach (var dir in Directory.EnumerateDirectories(modelFolder))
                {
                    var leaf = Path.GetFileName(dir);
                    if (leaf.StartsWith(StagingPrefix, StringComparison.Ordinal) || leaf.StartsWith(TrashPrefix, StringComparison.Ordinal))
                    {
                        Directory.Delete(dir, recursive: true);
                        Log.DebrisRemoved(_logger, dir);
                    }
                }

                foreach (var file in Directory.EnumerateFiles(modelFolder, ".*.tmp"))
                {
                    File.Delete(file);
                    Log.DebrisRemoved(_logger, file);
                }
            }
        }

        var downloads = Path.Combine(Root, "downloads");
        if (Directory.Exists(downloads))
        {
            foreach (var modelDownloads in Directory.EnumerateDirectories(downloads))
            {
                var name = Path.GetFileName(modelDownloads);
                foreach (var dir in Directory.EnumerateDirectories(modelDownloads))
                {
                    if (long.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var v)
                        && Directory.Exists(VersionFolder(name, v)))
                    {
                        Directory.Delete(dir, recursive: true);
                    }
                }
            }
        }
    }

    /// <summary>Keeps the active version, the previous good one and <see cref="ModelStoreOptions.KeepExtraVersions"/> more; removes the rest.</summary>
    public void ApplyRetention(string name)
    {
        var active = GetActive(name);
        if (active is null)
        {
            return;
        }

        var keep = new HashSet<long> { active.Version };
        if (active.Previous is { } previous)
        {
            keep.Add(previous);
        }

        var installed = GetInstalledVersions(name);
        foreach (var extra in installed.Where(v => !keep.Contains(v)).OrderDescending().Take(_options.KeepExtraVersions).ToArray())
        {
            keep.Add(extra);
        }

        foreach (var version in installed.Where(v => !keep.Contains(v)))
        {
            Remove(name, version);
        }
    }

    /// <summary>
    /// Removes an installed version folder (one that retention drops, or one found damaged so that it is fetched
    /// again). <c>active.json</c> is left as it is: a missing active folder reads as nothing installed.
    /// </summary>
    public void Remove(string name, long version)
    {
        var folder = VersionFolder(name, version);
        if (!Directory.Exists(folder))
        {
            return;
        }

        // Renamed first so a kill mid-delete leaves trash that Recover removes, never a torn version folder.
        var trash = Path.Combine(ModelFolder(name), $"{TrashPrefix}{version}-{Guid.NewGuid():N}");
        Directory.Move(folder, trash);
        Durable.FlushDirectory(ModelFolder(name));
        Directory.Delete(trash, recursive: true);
        Log.Removed(_logger, name, version);
    }

    private void WriteActive(string name, ActiveRecord record) =>
        Durable.WriteAllBytes(ActivePath(name), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(record, StoreJsonContext.Default.ActiveRecord));

    private string ActivePath(string name) => Path.Combine(ModelFolder(name), "active.json");

    private string AcceptedPath(string name) => Path.Combine(ModelFolder(name), "accepted.json");

    private string SeenListPath(string name) => Path.Combine(ModelFolder(name), "versions-seen.json");
}
