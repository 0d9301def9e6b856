using System.Security.Cryptography;
using EdgeMl.Runtime.Packages;

namespace EdgeMl.Testing.Distribution;

/// <summary>Signed packages of the real classifier, and registry folders laid out as devices expect.</summary>
public static class TestPackages
{
    /// <summary>Packs the real classifier as <paramref name="name"/> v<paramref name="version"/> with golden samples, signed by <paramref name="key"/> when given.</summary>
    public static string Classifier(string folder, string name, long version, SigningKey? key, int goldenSamples = 1)
    {
        PackageBuilder.Pack(ModelFixtures.Classifier, folder, new PackageBuildOptions
        {
            Name = name,
            Version = version,
            GoldenSamples = goldenSamples,
            Shapes = { [ModelFixtures.ClassifierInput] = ModelFixtures.ClassifierShape },
        });
        if (key is not null)
        {
            PackageBuilder.Sign(folder, key);
        }

        return folder;
    }

    /// <summary>Copies a package into <c>{root}/{name}/{version}/</c> and lists it in a signed <c>versions.json</c>.</summary>
    /// <returns>The published version folder.</returns>
    public static string PublishToFolder(string root, string packageFolder, SigningKey key, DateTimeOffset expires)
    {
        // Read without validation: tests publish deliberately broken manifests too.
        var manifestBytes = File.ReadAllBytes(Path.Combine(packageFolder, ModelManifest.FileName));
        using var doc = System.Text.Json.JsonDocument.Parse(manifestBytes);
        var name = doc.RootElement.GetProperty("name").GetString()!;
        var version = doc.RootElement.GetProperty("version").GetInt64();
        var target = Path.Combine(root, name, version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var source in Directory.EnumerateFiles(packageFolder, "*", SearchOption.AllDirectories))
        {
            var destination = Path.Combine(target, Path.GetRelativePath(packageFolder, source));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(source, destination, overwrite: true);
        }

        var listPath = Path.Combine(root, name, VersionsDocument.FileName);
        var list = File.Exists(listPath) ? VersionsDocument.ParseUnverified(File.ReadAllBytes(listPath)) : new VersionsDocument { Name = name, Expires = expires };
        WriteVersions(root, list.With(new VersionEntry(version, Convert.ToHexStringLower(SHA256.HashData(manifestBytes))), DateTimeOffset.UtcNow, expires), key);
        return target;
    }

    public static void WriteVersions(string root, VersionsDocument list, SigningKey key)
    {
        ArgumentNullException.ThrowIfNull(list);
        ArgumentNullException.ThrowIfNull(key);
        var json = list.ToJson();
        File.WriteAllBytes(Path.Combine(root, list.Name, VersionsDocument.FileName), json);
        File.WriteAllBytes(Path.Combine(root, list.Name, VersionsDocument.SignatureFileName), key.Sign(json).ToJson());
    }

    /// <summary>Rewrites a package's manifest (changing what <paramref name="edit"/> says) and re-signs it.</summary>
    public static void EditManifest(string packageFolder, Func<string, string> edit, SigningKey? key)
    {
        ArgumentNullException.ThrowIfNull(edit);
        var path = Path.Combine(packageFolder, ModelManifest.FileName);
        File.WriteAllText(path, edit(File.ReadAllText(path)));
        if (key is not null)
        {
            PackageBuilder.Sign(packageFolder, key);
        }
    }

    /// <summary>Replaces the expected outputs of the first golden sample with values no softmax gives, and re-signs.</summary>
    public static void BreakGolden(string packageFolder, SigningKey key)
    {
        var path = Path.Combine(packageFolder, ModelManifest.FileName);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllBytes(path))!;
        json["golden"]![0]!["outputs"]![0]!["data"] = new System.Text.Json.Nodes.JsonArray(2.0, -1.0);
        File.WriteAllText(path, json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        PackageBuilder.Sign(packageFolder, key);
    }

    /// <summary>Flips one bit of a file.</summary>
    public static void FlipBit(string path, long offset, int bit = 0)
    {
        var bytes = File.ReadAllBytes(path);
        bytes[offset] ^= (byte)(1 << bit);
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>A temp folder deleted on dispose.</summary>
    public sealed class TempFolder : IDisposable
    {
        public TempFolder() => Directory.CreateDirectory(Path);

        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "edgeml-" + Guid.NewGuid().ToString("N")[..12]);

        public string Sub(string name) => System.IO.Path.Combine(Path, name);

        public void Dispose()
        {
            try
            {
                Directory.Delete(Path, recursive: true);
            }
            catch (IOException)
            {
                // A child process may still hold a file for a moment; the OS cleans temp.
            }
        }
    }
}

/// <summary>Accepts every candidate and remembers which it saw.</summary>
public sealed class AcceptingValidator : IPackageValidator
{
    public List<long> Seen { get; } = [];

    public Task<PackageValidation> ValidateAsync(ModelPackage candidate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        Seen.Add(candidate.Manifest.Version);
        return Task.FromResult(PackageValidation.Accept);
    }
}
