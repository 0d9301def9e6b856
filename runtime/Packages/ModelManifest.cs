using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeMl.Runtime.Packages;

/// <summary>
/// <c>manifest.json</c> of a model package, schema <c>edgeml.model/v1</c>. The signature in <c>manifest.sig</c>
/// covers the exact bytes this is parsed from.
/// </summary>
public sealed class ModelManifest
{
    public const string SchemaV1 = "edgeml.model/v1";
    public const string FileName = "manifest.json";

    public string Schema { get; init; } = SchemaV1;

    public required string Name { get; init; }

    /// <summary>Monotonic per name, starting at 1.</summary>
    public required long Version { get; init; }

    public DateTimeOffset? Created { get; init; }

    public string? Description { get; init; }

    /// <summary>The ONNX file to load, one of <see cref="Files"/>.</summary>
    public required string Entry { get; init; }

    public required IReadOnlyList<ManifestFile> Files { get; init; }

    public IReadOnlyList<ManifestTensorSpec> Inputs { get; init; } = [];

    public IReadOnlyList<ManifestTensorSpec> Outputs { get; init; } = [];

    public ManifestWarmUp? WarmUp { get; init; }

    public IReadOnlyList<ManifestGoldenSample> Golden { get; init; } = [];

    /// <summary>Drift baseline: per output and input statistics the device compares its traffic with.</summary>
    public JsonElement? Baseline { get; init; }

    /// <summary>The provider chain the publisher recommends, such as <c>["tensorrt","cuda","cpu"]</c>.</summary>
    public IReadOnlyList<string> Providers { get; init; } = [];

    /// <summary>A recurrent model's state pairs (output fed back to input), kept by the server per sequence.</summary>
    public IReadOnlyList<ManifestStatePair> States { get; init; } = [];

    /// <summary>Parses and checks a manifest; every problem found is reported together.</summary>
    /// <exception cref="ModelManifestException">The manifest is not valid JSON or breaks the schema.</exception>
    public static ModelManifest Parse(ReadOnlySpan<byte> utf8Json)
    {
        ModelManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(utf8Json, ManifestJsonContext.Default.ModelManifest);
        }
        catch (JsonException e)
        {
            throw new ModelManifestException([$"manifest is not valid JSON: {e.Message}"]);
        }

        if (manifest is null)
        {
            throw new ModelManifestException(["manifest is empty"]);
        }

        var problems = ManifestRules.Check(manifest);
        return problems.Count == 0 ? manifest : throw new ModelManifestException(problems);
    }

    /// <summary>The manifest as indented UTF-8 JSON, the bytes that get signed.</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, ManifestJsonContext.Default.ModelManifest);

    public ManifestFile? FindFile(string path) => Files.FirstOrDefault(f => f.Path == path);
}

/// <summary>A file of the package: path relative to the package folder, with forward slashes.</summary>
public sealed record ManifestFile(string Path, string Sha256, long Size);

/// <summary>A declared input or output; datatype in Open Inference Protocol names, -1 for a dynamic dimension.</summary>
public sealed record ManifestTensorSpec(string Name, string Datatype, IReadOnlyList<long> Shape);

/// <summary>
/// A tensor shipped in the manifest: values inline in <see cref="Data"/> (row-major; numbers, booleans, or
/// strings for BYTES), or raw little-endian bytes in a package file named by <see cref="File"/>.
/// </summary>
public sealed record ManifestTensor(string Name, string Datatype, IReadOnlyList<long> Shape)
{
    public JsonElement? Data { get; init; }

    public string? File { get; init; }
}

/// <summary>
/// <paramref name="Output"/> of one call becomes <paramref name="Input"/> of the next call of the same sequence. The
/// first call's state is zeros of <see cref="Shape"/>, or the raw little-endian contents of <see cref="File"/> (a
/// package file) of that shape.
/// </summary>
public sealed record ManifestStatePair(string Output, string Input)
{
    public IReadOnlyList<long> Shape { get; init; } = [];

    public string? File { get; init; }
}

/// <summary>How to warm a model up: runs on given inputs, or on zeros shaped by <see cref="Shapes"/>.</summary>
public sealed record ManifestWarmUp
{
    public int Runs { get; init; } = 1;

    public IReadOnlyList<ManifestTensor> Inputs { get; init; } = [];

    /// <summary>Concrete shapes for inputs with dynamic dimensions, by input name.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<long>> Shapes { get; init; } = new Dictionary<string, IReadOnlyList<long>>();
}

/// <summary>Inputs that must produce the given outputs, within |actual − expected| ≤ absolute + relative·|expected|.</summary>
public sealed record ManifestGoldenSample(IReadOnlyList<ManifestTensor> Inputs, IReadOnlyList<ManifestTensor> Outputs)
{
    public double AbsoluteTolerance { get; init; } = 1e-4;

    public double RelativeTolerance { get; init; } = 1e-3;
}

public sealed class ModelManifestException(IReadOnlyList<string> problems)
    : Exception("invalid model manifest: " + string.Join("; ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    ReadCommentHandling = JsonCommentHandling.Disallow,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(ModelManifest))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
