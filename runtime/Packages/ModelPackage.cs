using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Runtime.Packages;

/// <summary>A model package folder: <c>manifest.json</c> and the files it lists.</summary>
public sealed class ModelPackage
{
    private ModelPackage(string folder, ModelManifest manifest, byte[] manifestBytes)
    {
        Folder = folder;
        Manifest = manifest;
        ManifestBytes = manifestBytes;
    }

    public string Folder { get; }

    public ModelManifest Manifest { get; }

    /// <summary>The exact bytes of <c>manifest.json</c>, which the signature covers.</summary>
    public ReadOnlyMemory<byte> ManifestBytes { get; }

    public string EntryPath => Path.Combine(Folder, Manifest.Entry);

    /// <exception cref="ModelManifestException">The manifest is missing or invalid.</exception>
    public static ModelPackage Open(string folder)
    {
        var path = Path.Combine(folder, ModelManifest.FileName);
        if (!File.Exists(path))
        {
            throw new ModelManifestException([$"no {ModelManifest.FileName} in {folder}"]);
        }

        var bytes = File.ReadAllBytes(path);
        return new ModelPackage(Path.GetFullPath(folder), ModelManifest.Parse(bytes), bytes);
    }

    /// <summary>
    /// The definition the runtime loads: the package's signature, warm-up and golden samples, with the
    /// operator's session, provider and serving settings. Without a provider chain from the operator the
    /// package's recommended chain is used (preferred, falling back to the CPU).
    /// </summary>
    public ModelDefinition CreateDefinition(ModelRuntimeSettings? settings = null)
    {
        settings ??= new ModelRuntimeSettings();
        var m = Manifest;
        var warmUp = new WarmUpOptions
        {
            Runs = m.WarmUp?.Runs ?? settings.WarmUpRuns,
            Inputs = (m.WarmUp?.Inputs ?? []).Select(t => ManifestTensors.Load(t, Folder)).ToArray(),
        };
        foreach (var (name, shape) in m.WarmUp?.Shapes ?? new Dictionary<string, IReadOnlyList<long>>())
        {
            warmUp.Shapes[name] = shape.ToArray();
        }

        foreach (var (name, shape) in settings.WarmUpShapes)
        {
            warmUp.Shapes[name] = shape;
        }

        var golden = m.Golden.Select(g => new GoldenSample(
                g.Inputs.Select(t => ManifestTensors.Load(t, Folder)).ToArray(),
                g.Outputs.Select(t => ManifestTensors.Load(t, Folder)).ToArray())
            {
                AbsoluteTolerance = g.AbsoluteTolerance,
                RelativeTolerance = g.RelativeTolerance,
            })
            .ToArray();

        var providers = settings.Providers
            ?? (m.Providers.Count > 0 ? ProviderChainOptions.Of(ProviderPolicy.Prefer, [.. m.Providers]) : ProviderChainOptions.CpuOnly);

        return new ModelDefinition
        {
            Name = m.Name,
            Version = m.Version,
            ModelPath = EntryPath,
            DeclaredSignature = m.Inputs.Count + m.Outputs.Count > 0 ? new ModelSignature(Specs(m.Inputs), Specs(m.Outputs)) : null,
            Session = settings.Session,
            Providers = providers,
            WarmUp = warmUp,
            Golden = golden,
            Serving = settings.Serving,
            States = [.. m.States.Select(pair =>
            {
                var datatype = m.Inputs.First(i => i.Name == pair.Input).Datatype;
                var initial = pair.File is { } file
                    ? ManifestTensors.Load(new ManifestTensor(pair.Input, datatype, pair.Shape) { File = file }, Folder)
                    : Zeros(pair.Input, datatype, [.. pair.Shape]);
                return new StatePair(pair.Output, pair.Input, initial);
            })],
        };
    }

    private static InferenceTensor Zeros(string name, string datatype, long[] shape)
    {
        var type = TensorDataTypes.TryParse(datatype, out var t) ? t : throw new ModelManifestException([$"state input '{name}' datatype '{datatype}' is unknown"]);
        var count = InferenceTensor.CountElements(shape);
        return type == TensorDataType.Bytes
            ? InferenceTensor.FromElements(name, shape, [.. Enumerable.Repeat(ReadOnlyMemory<byte>.Empty, (int)count)])
            : InferenceTensor.FromBytes(name, type, shape, new byte[count * type.ElementSize()]);
    }

    private static TensorSpec[] Specs(IReadOnlyList<ManifestTensorSpec> specs) =>
        specs.Select(s => new TensorSpec(
                s.Name,
                TensorDataTypes.TryParse(s.Datatype, out var t) ? t : throw new ModelManifestException([$"datatype '{s.Datatype}' is unknown"]),
                s.Shape.ToArray()))
            .ToArray();
}

/// <summary>The operator's settings for serving a package: what the package itself does not decide.</summary>
public sealed class ModelRuntimeSettings
{
    public ModelSessionOptions Session { get; init; } = new();

    /// <summary>Null to use the chain the package recommends.</summary>
    public ProviderChainOptions? Providers { get; init; }

    public ServingOptions Serving { get; init; } = new();

    /// <summary>Warm-up runs when the package does not say.</summary>
    public int WarmUpRuns { get; init; } = 1;

    /// <summary>Concrete warm-up shapes for dynamic inputs; these override the package's.</summary>
    public IDictionary<string, long[]> WarmUpShapes { get; init; } = new Dictionary<string, long[]>(StringComparer.Ordinal);
}
