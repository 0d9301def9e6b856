using System.Security.Cryptography;
using System.Text.Json;

namespace EdgeMl.Runtime.Packages;

/// <summary>What is expected of a package folder before it may be installed.</summary>
public sealed record PackageExpectation(string Name, long Version)
{
    /// <summary>The SHA-256 of the manifest bytes as listed by the signed <c>versions.json</c>, when known.</summary>
    public string? ManifestSha256 { get; init; }
}

/// <summary>
/// Checks a package folder completely: signature over the exact manifest bytes, schema, name and version,
/// every file's path, size and SHA-256, no links, and ONNX external data that stays inside the folder.
/// </summary>
public static class PackageVerifier
{
    private const string OrtMemoryAddressMarker = "_ORT_MEM_ADDR_";

    /// <summary>Relative, '/'-separated, no '..', '.' or empty segment: a path that stays inside its folder.</summary>
    public static bool IsSafeRelativePath(string? path) => ManifestRules.IsSafeRelativePath(path);

    /// <exception cref="PackageVerificationException">Refused; the failure says why.</exception>
    public static ModelPackage Verify(string folder, TrustPolicy trust, PackageExpectation expected, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(trust);
        ArgumentNullException.ThrowIfNull(expected);
        var what = $"{expected.Name} v{expected.Version} manifest";
        var manifestBytes = ReadSmall(Path.Combine(folder, ModelManifest.FileName), what);
        var sigPath = Path.Combine(folder, DetachedSignature.ManifestFileName);
        var present = File.Exists(sigPath);
        var manifest = VerifyManifest(manifestBytes, present ? File.ReadAllBytes(sigPath) : [], present, trust, expected);
        var root = Path.GetFullPath(folder);
        foreach (var file in manifest.Files)
        {
            ct.ThrowIfCancellationRequested();
            var path = ResolveInside(root, file.Path, what);
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new PackageVerificationException(VerificationFailure.SizeMismatch, $"file '{file.Path}' of {what} is missing; expected {file.Size} bytes");
            }

            if (info.Length != file.Size)
            {
                throw new PackageVerificationException(VerificationFailure.SizeMismatch,
                    $"file '{file.Path}' has {info.Length} bytes; the manifest declares {file.Size}");
            }

            string actual;
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
            {
                actual = Convert.ToHexStringLower(SHA256.HashData(stream));
            }

            if (actual != file.Sha256)
            {
                throw new PackageVerificationException(VerificationFailure.HashMismatch,
                    $"file '{file.Path}' has sha256 {actual}; the manifest declares {file.Sha256}");
            }

            // The entry is what ONNX Runtime loads, whatever its name.
            if (file.Path == manifest.Entry || file.Path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            {
                CheckExternalData(root, file.Path, manifest, what);
            }
        }

        return ModelPackage.Open(root);
    }

    /// <summary>
    /// Checks a manifest before any of its files is fetched: signature over the exact bytes, the hash the
    /// signed version list pins, schema, name, version and safe file paths.
    /// </summary>
    /// <exception cref="PackageVerificationException">Refused; the failure says why.</exception>
    public static ModelManifest VerifyManifest(
        ReadOnlySpan<byte> manifestBytes, ReadOnlySpan<byte> signature, bool signaturePresent, TrustPolicy trust, PackageExpectation expected)
    {
        ArgumentNullException.ThrowIfNull(trust);
        ArgumentNullException.ThrowIfNull(expected);
        var what = $"{expected.Name} v{expected.Version} manifest";
        trust.Verify(manifestBytes, signature, signaturePresent, what);
        var bytes = manifestBytes.ToArray();
        CheckManifestHash(bytes, expected, what);
        var manifest = ParseManifest(bytes, what);
        if (manifest.Name != expected.Name)
        {
            throw new PackageVerificationException(VerificationFailure.NameMismatch, $"{what} names model '{manifest.Name}'; expected '{expected.Name}'");
        }

        return manifest.Version == expected.Version
            ? manifest
            : throw new PackageVerificationException(VerificationFailure.VersionMismatch, $"{what} says version {manifest.Version}; expected {expected.Version}");
    }

    /// <summary>The full path of a manifest file path, refused when absolute, with '..', or reached through a link.</summary>
    /// <exception cref="PackageVerificationException">The path is unsafe.</exception>
    public static string ResolveInside(string root, string relative, string what)
    {
        if (!ManifestRules.IsSafeRelativePath(relative))
        {
            throw new PackageVerificationException(VerificationFailure.UnsafePath,
                $"file path '{relative}' in {what} is absolute or leaves the package; expected a relative path without '..'");
        }

        var path = Path.GetFullPath(Path.Combine(root, relative));
        if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new PackageVerificationException(VerificationFailure.UnsafePath, $"file path '{relative}' in {what} resolves outside the package folder");
        }

        // Every step below the root must be a real file or folder: a link could point anywhere.
        var step = root;
        foreach (var segment in relative.Split('/'))
        {
            step = Path.Combine(step, segment);
            FileSystemInfo info = Directory.Exists(step) ? new DirectoryInfo(step) : new FileInfo(step);
            if (info.Exists && info.LinkTarget is not null)
            {
                throw new PackageVerificationException(VerificationFailure.UnsafePath,
                    $"file path '{relative}' in {what} resolves through a link ('{step[(root.Length + 1)..]}' → '{info.LinkTarget}')");
            }
        }

        return path;
    }

    private static void CheckExternalData(string root, string onnxRelative, ModelManifest manifest, string what)
    {
        IReadOnlyList<string> locations;
        try
        {
            locations = OnnxExternalData.FindLocations(File.ReadAllBytes(Path.Combine(root, onnxRelative)));
        }
        catch (FormatException e)
        {
            throw new PackageVerificationException(VerificationFailure.InvalidManifest, $"model '{onnxRelative}' of {what} is not a readable ONNX file: {e.Message}");
        }

        var baseFolder = Path.GetDirectoryName(onnxRelative.Replace('/', Path.DirectorySeparatorChar)) ?? "";
        foreach (var location in locations)
        {
            // ONNX Runtime reads this marker as "the data is at a memory address given by the offset", not as a file.
            if (location.Contains(OrtMemoryAddressMarker, StringComparison.Ordinal))
            {
                throw new PackageVerificationException(VerificationFailure.ExternalDataOutside,
                    $"model '{onnxRelative}' refers to external data '{location}', which ONNX Runtime would read from a memory address; expected a relative path to one of its files");
            }

            var combined = baseFolder.Length == 0 ? location : $"{baseFolder.Replace(Path.DirectorySeparatorChar, '/')}/{location}";
            if (!ManifestRules.IsSafeRelativePath(location) || manifest.FindFile(combined) is null)
            {
                throw new PackageVerificationException(VerificationFailure.ExternalDataOutside,
                    $"model '{onnxRelative}' refers to external data '{location}', which is not a listed file inside the package; expected a relative path to one of its files");
            }
        }
    }

    private static void CheckManifestHash(byte[] manifestBytes, PackageExpectation expected, string what)
    {
        if (expected.ManifestSha256 is { } pinned)
        {
            var actual = Convert.ToHexStringLower(SHA256.HashData(manifestBytes));
            if (!string.Equals(actual, pinned, StringComparison.OrdinalIgnoreCase))
            {
                throw new PackageVerificationException(VerificationFailure.ManifestHashMismatch,
                    $"{what} has sha256 {actual}; the signed versions.json lists {pinned}");
            }
        }
    }

    private static ModelManifest ParseManifest(byte[] bytes, string what)
    {
        try
        {
            return ModelManifest.Parse(bytes);
        }
        catch (ModelManifestException e)
        {
            // Report unsafe paths as such: they are an attack, not a typo.
            ModelManifest? loose = null;
            try
            {
                loose = JsonSerializer.Deserialize(bytes, ManifestJsonContext.Default.ModelManifest);
            }
            catch (JsonException)
            {
            }

            if (loose?.Files?.FirstOrDefault(f => f is not null && !ManifestRules.IsSafeRelativePath(f.Path)) is { } unsafeFile)
            {
                throw new PackageVerificationException(VerificationFailure.UnsafePath,
                    $"file path '{unsafeFile.Path}' in {what} is absolute or leaves the package; expected a relative path without '..'");
            }

            throw new PackageVerificationException(VerificationFailure.InvalidManifest, $"{what} is invalid: {string.Join("; ", e.Problems)}");
        }
    }

    private static byte[] ReadSmall(string path, string what)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new PackageVerificationException(VerificationFailure.InvalidManifest, $"{what} is missing ({path})");
        }

        return info.Length > PackageLimits.MaxManifestBytes
            ? throw new PackageVerificationException(VerificationFailure.SizeMismatch, $"{what} has {info.Length} bytes; at most {PackageLimits.MaxManifestBytes} are allowed")
            : File.ReadAllBytes(path);
    }
}

public static class PackageLimits
{
    /// <summary>The most bytes a manifest, a version list or a signature may have; they are read whole.</summary>
    public const long MaxManifestBytes = 16L * 1024 * 1024;

    public const long MaxSignatureBytes = 4096;
}
