using System.Diagnostics;
using EdgeMl.Runtime.Packages;

namespace EdgeMl.Testing.Distribution;

/// <summary>What the kill iterations found.</summary>
public sealed record CrashReport(
    int Iterations, int Killed, int FinishedFirst, int OldActive, int NewActive, IReadOnlyDictionary<string, int> KillPhases, IReadOnlyList<string> BadStates);

/// <summary>
/// Runs the real <c>edgeml model pull</c> (download, verify, install, load, warm-up, golden check, activate)
/// in a child process and kills it with SIGKILL at a random instant, then checks the store: exactly v1 or v2
/// active, every installed version hash-verified, and no debris once the next start has run its recovery.
/// The data folder is reset only after v2 became active, so later iterations also resume from killed ones.
/// </summary>
public sealed class CrashHarness(string workFolder, int seed)
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(3);
    private static readonly HashSet<string> AllowedEntries = new(StringComparer.Ordinal) { "active.json", "accepted.json", "rejected.json", "versions-seen.json" };

    public async Task<CrashReport> RunAsync(int iterations, Action<string>? log = null, CancellationToken ct = default)
    {
        using var key = SigningKey.Create();
        using var trusted = TrustedKeys.FromPem([key.ExportPublicKeyPem()]);
        var trust = new TrustPolicy(trusted);
        var trustFile = Path.Combine(workFolder, "trust.pub.pem");
        var registry = Path.Combine(workFolder, "registry");
        var pristine = Path.Combine(workFolder, "pristine");
        var data = Path.Combine(workFolder, "data");
        Directory.CreateDirectory(workFolder);
        await File.WriteAllTextAsync(trustFile, key.ExportPublicKeyPem(), ct);
        foreach (var version in new[] { 1L, 2L })
        {
            TestPackages.PublishToFolder(registry, TestPackages.Classifier(Path.Combine(workFolder, $"p{version}"), "cls", version, key), key, DateTimeOffset.UtcNow.AddDays(1));
        }

        string[] Pull(string folder, string version) => ["model", "pull", "cls", "--version", version, "--registry", registry, "--trust", trustFile, "--data", folder];
        await Expect0(Pull(pristine, "1"));

        // One uninterrupted run sets the range of kill instants.
        Reset(pristine, data);
        var clock = Stopwatch.StartNew();
        await Expect0(Pull(data, "2"));
        var fullRun = clock.Elapsed;
        log?.Invoke($"uninterrupted pull-and-activate: {fullRun.TotalMilliseconds:F0} ms");

        // Kill instants span the recent run length: on a machine whose load changes, one calibration run
        // could make the window far too long (nearly every run finishes first) or too short.
        var recent = new Queue<double>([fullRun.TotalMilliseconds]);

        var random = new Random(seed);
        var bad = new List<string>();
        int killed = 0, finished = 0, oldActive = 0, newActive = 0;
        var phases = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < iterations; i++)
        {
            ct.ThrowIfCancellationRequested();
            if (ReadActive(data) != 1)
            {
                Reset(pristine, data);
            }

            var window = recent.Order().ElementAt(recent.Count / 2) * 1.2;
            var delay = TimeSpan.FromMilliseconds(random.NextDouble() * window);
            var started = Stopwatch.StartNew();
            bool finishedFirst;
            using (var child = Process.Start(EdgeMlProcess.StartInfo(Pull(data, "2"))) ?? throw new InvalidOperationException("edgeml did not start"))
            {
                var drained = Task.WhenAll(child.StandardOutput.ReadToEndAsync(CancellationToken.None), child.StandardError.ReadToEndAsync(CancellationToken.None));
                var exited = child.WaitForExitAsync(ct);
                finishedFirst = await Task.WhenAny(exited, Task.Delay(delay, ct)) == exited;
                if (finishedFirst)
                {
                    finished++;
                    if (ReadActive(data) == 2)
                    {
                        recent.Enqueue(started.Elapsed.TotalMilliseconds);
                        if (recent.Count > 9)
                        {
                            recent.Dequeue();
                        }
                    }
                }
                else
                {
                    child.Kill(); // SIGKILL on Unix: no finally blocks, no flushes.
                    killed++;
                }

                await child.WaitForExitAsync(ct).WaitAsync(Guard, ct);
                await drained.WaitAsync(Guard, ct);
            }

            if (!finishedFirst)
            {
                var phase = PhaseOf(data);
                phases[phase] = phases.GetValueOrDefault(phase) + 1;
            }

            var problems = Check(data, trust, afterRecovery: false);
            new ModelStore(new ModelStoreOptions { DataDirectory = data }).Recover();
            problems.AddRange(Check(data, trust, afterRecovery: true));
            var active = ReadActive(data);
            (oldActive, newActive) = active == 1 ? (oldActive + 1, newActive) : active == 2 ? (oldActive, newActive + 1) : (oldActive, newActive);
            foreach (var problem in problems)
            {
                bad.Add($"iteration {i} (kill at {delay.TotalMilliseconds:F0} ms): {problem}");
            }

            if (i % 50 == 49)
            {
                log?.Invoke($"{i + 1} iterations: {killed} killed, {bad.Count} bad states");
            }
        }

        return new CrashReport(iterations, killed, finished, oldActive, newActive, phases, bad);
    }

    private static List<string> Check(string data, TrustPolicy trust, bool afterRecovery)
    {
        var problems = new List<string>();
        var store = new ModelStore(new ModelStoreOptions { DataDirectory = data });
        try
        {
            var active = store.GetActive("cls");
            if (active is null || active.Version is not (1 or 2))
            {
                problems.Add($"active version is {active?.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "missing"}; expected 1 or 2");
            }

            foreach (var version in store.GetInstalledVersions("cls"))
            {
                var folder = store.VersionFolder("cls", version);
                var package = PackageVerifier.Verify(folder, trust, new PackageExpectation("cls", version));
                var listed = package.Manifest.Files.Select(f => f.Path).Append(ModelManifest.FileName).Append(DetachedSignature.ManifestFileName).ToHashSet(StringComparer.Ordinal);
                foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/')))
                {
                    if (!listed.Contains(file))
                    {
                        problems.Add($"v{version} holds '{file}', which its manifest does not list");
                    }
                }
            }

            _ = store.GetHighestAccepted("cls");
        }
        catch (Exception e) when (e is PackageVerificationException or InvalidDataException or ModelManifestException or IOException)
        {
            problems.Add(e.Message);
        }

        if (afterRecovery)
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(store.ModelFolder("cls")).Select(Path.GetFileName))
            {
                if (!AllowedEntries.Contains(entry!) && !long.TryParse(entry, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
                {
                    problems.Add($"debris '{entry}' left in models/cls after recovery");
                }
            }
        }

        return problems;
    }

    // Where the kill landed, read from what it left behind (before recovery cleans up).
    private static string PhaseOf(string data)
    {
        var store = new ModelStore(new ModelStoreOptions { DataDirectory = data });
        var model = store.ModelFolder("cls");
        var names = Directory.Exists(model) ? Directory.EnumerateFileSystemEntries(model).Select(Path.GetFileName).ToArray() : [];
        var downloads = store.DownloadFolder("cls", 2);
        return store.GetActive("cls")?.Version == 2 ? "after activation (v2 active)"
            : names.Any(n => n!.StartsWith(".trash-", StringComparison.Ordinal)) ? "retention"
            : names.Any(n => n!.StartsWith(".staging-", StringComparison.Ordinal)) ? "install (staging)"
            : names.Any(n => n!.EndsWith(".tmp", StringComparison.Ordinal)) ? "record write"
            : Directory.Exists(store.VersionFolder("cls", 2)) ? "load/warm-up/golden check (v2 installed, v1 active)"
            : Directory.Exists(downloads) && Directory.EnumerateFiles(downloads, "*", SearchOption.AllDirectories).Any() ? "download/verify"
            : "start-up (nothing written yet)";
    }

    private static long? ReadActive(string data) => new ModelStore(new ModelStoreOptions { DataDirectory = data }).GetActive("cls")?.Version;

    private static void Reset(string pristine, string data)
    {
        if (Directory.Exists(data))
        {
            Directory.Delete(data, recursive: true);
        }

        foreach (var file in Directory.EnumerateFiles(pristine, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(data, Path.GetRelativePath(pristine, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private static async Task Expect0(string[] args)
    {
        var (code, _, error) = await EdgeMlProcess.RunAsync(args, Guard);
        if (code != 0)
        {
            throw new InvalidOperationException($"edgeml {string.Join(' ', args)} exited {code}: {error}");
        }
    }
}
