using System.Runtime.InteropServices;
using System.Security.Cryptography;
using EdgeMl.Runtime.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace EdgeMl.Runtime.Packages;

/// <summary>What <see cref="PackageBuilder"/> puts in a new package beside the model itself.</summary>
public sealed class PackageBuildOptions
{
    public required string Name { get; init; }

    public required long Version { get; init; }

    public string? Description { get; init; }

    public int WarmUpRuns { get; init; } = 1;

    /// <summary>Concrete shapes for dynamic inputs, used for warm-up and generated golden samples.</summary>
    public IDictionary<string, long[]> Shapes { get; init; } = new Dictionary<string, long[]>(StringComparer.Ordinal);

    /// <summary>Golden samples to generate: seeded pseudo-random FP32 inputs and the outputs this model gives for them.</summary>
    public int GoldenSamples { get; init; }

    public int GoldenSeed { get; init; } = 1;

    public IReadOnlyList<string> Providers { get; init; } = [];

    /// <summary>
    /// Real requests (<c>--sample</c>): each a full set of inputs, any datatype, scalars included. Warm-up runs on the
    /// first; golden samples are recorded from them (not generated); dynamic dimensions not in <see cref="Shapes"/>
    /// come from the first.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<InferenceTensor>> Samples { get; init; } = [];

    /// <summary>State pairs (<c>--state OUT=IN</c>): the output fed back to the input by the server's sequences.</summary>
    public IReadOnlyList<(string Output, string Input)> States { get; init; } = [];

    /// <summary>
    /// The initial state of some pairs (<c>--initial-state FILE</c>), by state input name; a pair not named here starts
    /// from zeros of the input's shape.
    /// </summary>
    public IReadOnlyList<InferenceTensor> InitialStates { get; init; } = [];
}

/// <summary>Builds a package folder from an ONNX model: signature read from the model, files hashed, golden samples recorded.</summary>
public static class PackageBuilder
{
    public const string ModelFileName = "model.onnx";

    /// <summary>Writes <c>model.onnx</c>, golden input files and <c>manifest.json</c> (unsigned) into <paramref name="outFolder"/>.</summary>
    /// <exception cref="ModelManifestException">The model's signature cannot be described in a manifest.</exception>
    public static ModelManifest Pack(string onnxPath, string outFolder, PackageBuildOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        IReadOnlyList<ManifestTensorSpec> inputs, outputs;
        IReadOnlyList<ManifestTensor> warmUpInputs;
        List<ManifestGoldenSample> golden;
        Dictionary<string, long[]> shapes;
        IReadOnlyList<ManifestStatePair> states;
        using (var session = new InferenceSession(onnxPath))
        {
            inputs = Describe(session.InputMetadata);
            outputs = Describe(session.OutputMetadata);
            CheckSamples(inputs, options.Samples);
            shapes = ShapesWithSamples(inputs, options);
            CheckShapes(inputs, options, shapes);
            states = States(inputs, outputs, options.States, options.InitialStates, shapes);
            Directory.CreateDirectory(outFolder);
            File.Copy(onnxPath, Path.Combine(outFolder, ModelFileName), overwrite: true);
            WriteInitialStates(states, options.InitialStates, outFolder);
            (warmUpInputs, golden) = WriteSamples(session, inputs, options, outFolder);
        }

        var files = ListFiles(outFolder);
        var manifest = new ModelManifest
        {
            Name = options.Name,
            Version = options.Version,
            Description = options.Description,
            Created = (time ?? TimeProvider.System).GetUtcNow(),
            Entry = ModelFileName,
            Files = files,
            Inputs = inputs,
            Outputs = outputs,
            WarmUp = new ManifestWarmUp
            {
                Runs = options.WarmUpRuns,
                Inputs = warmUpInputs,
                Shapes = shapes.ToDictionary(p => p.Key, p => (IReadOnlyList<long>)p.Value),
            },
            Golden = golden,
            Providers = options.Providers,
            States = states,
        };
        var bytes = manifest.ToJson();
        var parsed = ModelManifest.Parse(bytes);
        File.WriteAllBytes(Path.Combine(outFolder, ModelManifest.FileName), bytes);
        File.Delete(Path.Combine(outFolder, DetachedSignature.ManifestFileName));
        return parsed;
    }

    /// <summary>The warm-up input and the golden samples: the given samples (the first also warms up), or generated ones.</summary>
    private static (IReadOnlyList<ManifestTensor> WarmUp, List<ManifestGoldenSample> Golden) WriteSamples(
        InferenceSession session, IReadOnlyList<ManifestTensorSpec> inputs, PackageBuildOptions options, string outFolder)
    {
        IReadOnlyList<ManifestTensor> warmUp = [];
        var golden = new List<ManifestGoldenSample>();
        if (options.Samples.Count > 0)
        {
            warmUp = WriteSample(options.Samples[0], options.GoldenSamples > 0 ? "golden/0" : "warmup", outFolder);
            for (var i = 0; options.GoldenSamples > 0 && i < options.Samples.Count; i++)
            {
                golden.Add(RecordSample(session, options.Samples[i], i == 0 ? warmUp : WriteSample(options.Samples[i], $"golden/{i}", outFolder)));
            }
        }
        else
        {
            for (var i = 0; i < options.GoldenSamples; i++)
            {
                golden.Add(RecordGolden(session, inputs, options, i, outFolder));
            }
        }

        return (warmUp, golden);
    }

    /// <summary>Every file of the package but the manifest and its signature, in path order, with its hash and size.</summary>
    private static List<ManifestFile> ListFiles(string outFolder)
    {
        var files = new List<ManifestFile>();
        foreach (var path in Directory.EnumerateFiles(outFolder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(outFolder, path).Replace(Path.DirectorySeparatorChar, '/');
            if (relative is ModelManifest.FileName or DetachedSignature.ManifestFileName)
            {
                continue;
            }

            using var stream = File.OpenRead(path);
            files.Add(new ManifestFile(relative, Convert.ToHexStringLower(SHA256.HashData(stream)), stream.Length));
        }

        return files;
    }

    /// <summary>Signs the exact bytes of the folder's <c>manifest.json</c> into <c>manifest.sig</c>.</summary>
    public static DetachedSignature Sign(string folder, SigningKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var signature = key.Sign(File.ReadAllBytes(Path.Combine(folder, ModelManifest.FileName)));
        File.WriteAllBytes(Path.Combine(folder, DetachedSignature.ManifestFileName), signature.ToJson());
        return signature;
    }

    /// <summary>
    /// Every given shape must fit its input, and golden samples need one for every input with a dynamic dimension:
    /// a guessed size (1) would record outputs for an input the model is never given.
    /// </summary>
    private static void CheckShapes(IReadOnlyList<ManifestTensorSpec> inputs, PackageBuildOptions options, Dictionary<string, long[]> shapes)
    {
        var problems = new List<string>();
        foreach (var (name, shape) in options.Shapes)
        {
            if (inputs.FirstOrDefault(i => i.Name == name) is not { } spec)
            {
                problems.Add($"--shape names '{name}', which is not an input of the model (its inputs: {string.Join(", ", inputs.Select(i => i.Name))})");
            }
            else if (shape.Length != spec.Shape.Count || shape.Where((d, i) => d <= 0 || (spec.Shape[i] >= 0 && spec.Shape[i] != d)).Any())
            {
                problems.Add($"--shape {name}={string.Join(',', shape)} does not fit the model's {Placeholders(spec)}");
            }
        }

        if (options.GoldenSamples > 0)
        {
            foreach (var spec in inputs.Where(i => i.Shape.Any(d => d < 0) && !shapes.ContainsKey(i.Name)))
            {
                problems.Add($"input '{spec.Name}' has dynamic dimensions: golden samples need its shape, --shape {spec.Name}={Placeholders(spec)} with each ? the size it is served at, or a real request with --sample FILE (or --golden 0)");
            }
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", problems));
        }
    }

    private static string Placeholders(ManifestTensorSpec spec) => string.Join(',', spec.Shape.Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private static ManifestTensorSpec[] Describe(IReadOnlyDictionary<string, NodeMetadata> metadata) =>
        metadata.Select(p => new ManifestTensorSpec(
                p.Key,
                p.Value.IsTensor && TensorDataTypes.TryFromOnnx(p.Value.ElementDataType, out var type)
                    ? type.ToProtocolName()
                    : throw new ModelManifestException([$"'{p.Key}' is not a tensor of a supported datatype"]),
                p.Value.Dimensions.Select(d => (long)d).ToArray()))
            .ToArray();

    /// <summary>
    /// Each pair's output and input exist and agree; the initial state is the given tensor (written to
    /// <c>states/N.bin</c>) or zeros of the input's (concrete) shape.
    /// </summary>
    private static ManifestStatePair[] States(
        IReadOnlyList<ManifestTensorSpec> inputs,
        IReadOnlyList<ManifestTensorSpec> outputs,
        IReadOnlyList<(string Output, string Input)> pairs,
        IReadOnlyList<InferenceTensor> initial,
        Dictionary<string, long[]> shapes)
    {
        var problems = new List<string>();
        var result = new List<ManifestStatePair>();
        foreach (var tensor in initial.Where(t => !pairs.Any(p => p.Input == t.Name)))
        {
            problems.Add($"--initial-state names '{tensor.Name}', which is not the input of a --state pair (state inputs: {(pairs.Count == 0 ? "none" : string.Join(", ", pairs.Select(p => p.Input)))})");
        }

        foreach (var (outputName, inputName) in pairs)
        {
            var input = inputs.FirstOrDefault(i => i.Name == inputName);
            var output = outputs.FirstOrDefault(o => o.Name == outputName);
            if (input is null || output is null)
            {
                problems.Add($"--state {outputName}={inputName}: {(output is null ? $"'{outputName}' is not an output (outputs: {string.Join(", ", outputs.Select(o => o.Name))})" : $"'{inputName}' is not an input (inputs: {string.Join(", ", inputs.Select(i => i.Name))})")}");
                continue;
            }

            if (input.Datatype != output.Datatype)
            {
                problems.Add($"--state {outputName}={inputName}: the output is {output.Datatype}, the input {input.Datatype}");
                continue;
            }

            if (initial.FirstOrDefault(t => t.Name == inputName) is { } start)
            {
                if (InitialStateProblem(input, start) is { } problem)
                {
                    problems.Add($"--initial-state '{inputName}': {problem}");
                    continue;
                }

                var file = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"states/{result.Count}.bin");
                result.Add(new ManifestStatePair(outputName, inputName) { Shape = [.. start.Shape], File = file });
                continue;
            }

            var shape = shapes.TryGetValue(inputName, out var given) ? given : [.. input.Shape];
            if (shape.Any(d => d < 0))
            {
                problems.Add($"--state {outputName}={inputName}: '{inputName}' has dynamic dimensions; give the initial state's shape with --shape {inputName}={Placeholders(input)}, a --sample or an --initial-state");
                continue;
            }

            result.Add(new ManifestStatePair(outputName, inputName) { Shape = shape });
        }

        return problems.Count == 0 ? [.. result] : throw new ArgumentException(string.Join("; ", problems));
    }

    private static string? InitialStateProblem(ManifestTensorSpec input, InferenceTensor start)
    {
        if (start.DataType.ToProtocolName() != input.Datatype)
        {
            return $"the file gives {start.DataType.ToProtocolName()}; the input is {input.Datatype}";
        }

        if (start.DataType == TensorDataType.Bytes)
        {
            return "a BYTES state starts empty; give no initial state for it";
        }

        return start.Shape.Count != input.Shape.Count || start.Shape.Where((d, k) => input.Shape[k] >= 0 && input.Shape[k] != d).Any()
            ? $"shape [{string.Join(',', start.Shape)}] does not fit the input's [{Placeholders(input)}]"
            : null;
    }

    /// <summary>Writes each pair's given initial state to its file (named by position, never by tensor name).</summary>
    private static void WriteInitialStates(IReadOnlyList<ManifestStatePair> states, IReadOnlyList<InferenceTensor> initial, string outFolder)
    {
        foreach (var pair in states.Where(p => p.File is not null))
        {
            var path = Path.Combine(outFolder, pair.File!);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, initial.First(t => t.Name == pair.Input).Data.ToArray());
        }
    }

    /// <summary>Every sample names each input once, with its datatype and a shape that fits.</summary>
    private static void CheckSamples(IReadOnlyList<ManifestTensorSpec> inputs, IReadOnlyList<IReadOnlyList<InferenceTensor>> samples)
    {
        var problems = new List<string>();
        for (var i = 0; i < samples.Count; i++)
        {
            var sample = samples[i];
            foreach (var spec in inputs)
            {
                var given = sample.Where(t => t.Name == spec.Name).ToArray();
                if (given.Length != 1)
                {
                    problems.Add($"--sample {i + 1} {(given.Length == 0 ? "has no" : "has more than one")} input '{spec.Name}' (the model's inputs: {string.Join(", ", inputs.Select(s => $"{s.Name} {s.Datatype} [{Placeholders(s)}]"))})");
                    continue;
                }

                var tensor = given[0];
                if (tensor.DataType.ToProtocolName() != spec.Datatype)
                {
                    problems.Add($"--sample {i + 1}: input '{spec.Name}' is {tensor.DataType.ToProtocolName()}; the model takes {spec.Datatype}");
                }
                else if (tensor.Shape.Count != spec.Shape.Count || tensor.Shape.Where((d, k) => spec.Shape[k] >= 0 && spec.Shape[k] != d).Any())
                {
                    problems.Add($"--sample {i + 1}: input '{spec.Name}' has shape {TensorSpec.FormatShape(tensor.Shape)}; the model takes {Placeholders(spec)}");
                }
            }

            foreach (var extra in sample.Where(t => inputs.All(s => s.Name != t.Name)))
            {
                problems.Add($"--sample {i + 1} names '{extra.Name}', which is not an input of the model");
            }
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", problems));
        }
    }

    /// <summary>The --shape values, and for every other input with a dynamic dimension, the first sample's shape.</summary>
    private static Dictionary<string, long[]> ShapesWithSamples(IReadOnlyList<ManifestTensorSpec> inputs, PackageBuildOptions options)
    {
        var shapes = new Dictionary<string, long[]>(options.Shapes, StringComparer.Ordinal);
        if (options.Samples.Count > 0)
        {
            foreach (var spec in inputs.Where(i => i.Shape.Any(d => d < 0) && !shapes.ContainsKey(i.Name)))
            {
                shapes[spec.Name] = [.. options.Samples[0].First(t => t.Name == spec.Name).Shape];
            }
        }

        return shapes;
    }

    /// <summary>A sample's inputs as manifest tensors: raw files under <paramref name="folder"/>, BYTES inline.</summary>
    private static ManifestTensor[] WriteSample(IReadOnlyList<InferenceTensor> sample, string folder, string outFolder) =>
        [.. sample.Select((tensor, position) =>
        {
            if (tensor.DataType == TensorDataType.Bytes)
            {
                return ManifestTensors.Inline(tensor);
            }

            // Named by position, never by tensor name (a model's input names are the model author's text).
            var relative = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{folder}/{position}.bin");
            var path = Path.Combine(outFolder, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, tensor.Data.ToArray());
            return new ManifestTensor(tensor.Name, tensor.DataType.ToProtocolName(), [.. tensor.Shape]) { File = relative };
        })];

    /// <summary>The outputs this model gives for a real sample, recorded as its golden sample.</summary>
    private static ManifestGoldenSample RecordSample(InferenceSession session, IReadOnlyList<InferenceTensor> sample, IReadOnlyList<ManifestTensor> written)
    {
        using var run = new RunOptions();
        InferenceTensor[] results;
        try
        {
            results = Sessions.ModelSession.Run(session, run, sample, session.OutputNames);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ArgumentException($"the model refused a --sample: {e.Message}", e);
        }

        return new ManifestGoldenSample(written, [.. results.Select(ManifestTensors.Inline)]);
    }

    private static ManifestGoldenSample RecordGolden(InferenceSession session, IReadOnlyList<ManifestTensorSpec> inputs, PackageBuildOptions options, int index, string outFolder)
    {
        var manifestInputs = new List<ManifestTensor>();
        var values = new List<OrtValue>();
        try
        {
            var random = new Random(options.GoldenSeed + index);
            for (var position = 0; position < inputs.Count; position++)
            {
                var spec = inputs[position];
                if (spec.Datatype != "FP32")
                {
                    throw new ModelManifestException([$"golden samples can be generated for FP32 inputs only; '{spec.Name}' is {spec.Datatype}: give a real request with --sample FILE (its outputs become the golden sample), or --golden 0"]);
                }

                var shape = options.Shapes.TryGetValue(spec.Name, out var s) ? s : spec.Shape.ToArray();
                var data = new float[shape.Aggregate(1L, (a, b) => a * b)];
                for (var i = 0; i < data.Length; i++)
                {
                    data[i] = random.NextSingle();
                }

                // Named by position, never by tensor name: a model's input names are the model author's text, and
                // "../../x" would write outside the package.
                var relative = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"golden/{index}/{position}.bin");
                var path = Path.Combine(outFolder, relative);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllBytes(path, MemoryMarshal.AsBytes(data.AsSpan()).ToArray());
                manifestInputs.Add(new ManifestTensor(spec.Name, "FP32", shape) { File = relative });
                values.Add(OrtValue.CreateTensorValueFromMemory(data, shape));
            }

            using var run = new RunOptions();
            using var results = session.Run(run, inputs.Select(i => i.Name).ToArray(), values, session.OutputNames);
            var outputs = session.OutputNames.Zip(results, (name, value) =>
            {
                var shape = value.GetTensorTypeAndShape().Shape;
                var floats = value.GetTensorDataAsSpan<float>().ToArray();
                return ManifestTensors.Inline(InferenceTensor.Create(name, shape, floats));
            }).ToArray();
            return new ManifestGoldenSample(manifestInputs, outputs);
        }
        finally
        {
            foreach (var v in values)
            {
                v.Dispose();
            }
        }
    }
}
