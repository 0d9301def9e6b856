using System.Text.RegularExpressions;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Runtime.Packages;

/// <summary>The schema rules of <c>edgeml.model/v1</c> that JSON alone does not enforce.</summary>
public static partial class ManifestRules
{
    internal static List<string> Check(ModelManifest m)
    {
        var problems = new List<string>();
        if (m.Schema != ModelManifest.SchemaV1)
        {
            problems.Add($"schema is '{m.Schema}'; expected '{ModelManifest.SchemaV1}'");
        }

        if (m.Name is null || !ModelName().IsMatch(m.Name))
        {
            problems.Add($"name '{m.Name}' must be 1-64 characters of a-z, 0-9, '-', '_' or '.', starting with a letter or digit");
        }

        if (m.Version < 1)
        {
            problems.Add($"version {m.Version} must be 1 or more");
        }

        // JSON may say null (or leave out a record's field) where the types promise a list: each is a problem, never a crash later.
        var files = Listed(m.Files, "files", problems);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            if (!IsSafeRelativePath(file.Path))
            {
                problems.Add($"file path '{file.Path}' must be relative, use '/', and contain no '..', '.' or empty segments");
            }
            else if (!seen.Add(file.Path))
            {
                problems.Add($"file '{file.Path}' is listed twice");
            }

            if (file.Sha256 is null || !Sha256Hex().IsMatch(file.Sha256))
            {
                problems.Add($"file '{file.Path}' sha256 must be 64 lowercase hex digits");
            }

            if (file.Size < 0)
            {
                problems.Add($"file '{file.Path}' size {file.Size} is negative");
            }
        }

        if (m.Entry is null || !seen.Contains(m.Entry))
        {
            problems.Add($"entry '{m.Entry}' is not one of the listed files");
        }

        CheckSpecs("input", Listed(m.Inputs, "inputs", problems), problems);
        CheckSpecs("output", Listed(m.Outputs, "outputs", problems), problems);
        if (m.WarmUp is { } warmUp)
        {
            if (warmUp.Runs is < 0 or > 1000)
            {
                problems.Add($"warmUp.runs {warmUp.Runs} must be between 0 and 1000");
            }

            CheckTensors("warmUp input", Listed(warmUp.Inputs, "warmUp.inputs", problems), seen, problems);
            if (warmUp.Shapes is null)
            {
                problems.Add("warmUp.shapes must be an object, not null");
            }
            else
            {
                foreach (var (name, shape) in warmUp.Shapes)
                {
                    if (shape is null || shape.Any(d => d < 0))
                    {
                        problems.Add($"warmUp shape of '{name}' must be a list with no dynamic dimension");
                    }
                }
            }
        }

        var golden = Listed(m.Golden, "golden", problems);
        for (var i = 0; i < golden.Count; i++)
        {
            var sample = golden[i];
            CheckTensors($"golden[{i}] input", Listed(sample.Inputs, $"golden[{i}].inputs", problems), seen, problems);
            CheckTensors($"golden[{i}] output", Listed(sample.Outputs, $"golden[{i}].outputs", problems), seen, problems);
            if (sample.AbsoluteTolerance < 0 || sample.RelativeTolerance < 0)
            {
                problems.Add($"golden[{i}] tolerances must not be negative");
            }
        }

        CheckStates(m, seen, problems);

        foreach (var provider in Listed(m.Providers, "providers", problems))
        {
            if (!Providers.ProviderNames.IsKnown(provider))
            {
                problems.Add($"provider '{provider}' is unknown; known: {string.Join(", ", Providers.ProviderNames.Known)}");
            }
        }

        return problems;
    }

    /// <summary>A model name: 1-64 characters of a-z, 0-9, '-', '_' or '.', starting with a letter or digit.</summary>
    public static bool IsValidName(string? name) => name is not null && ModelName().IsMatch(name);

    /// <summary>A path inside the package folder: relative, '/'-separated, no '..', '.' or empty segment.</summary>
    internal static bool IsSafeRelativePath(string? path)
    {
        if (string.IsNullOrEmpty(path) || path.Contains('\\', StringComparison.Ordinal) || path.Contains('\0', StringComparison.Ordinal)
            || path[0] == '/' || Path.IsPathRooted(path))
        {
            return false;
        }

        foreach (var segment in path.Split('/'))
        {
            if (segment is "" or "." or "..")
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The list without null entries; a null list or entry is a problem.</summary>
    private static IReadOnlyList<T> Listed<T>(IReadOnlyList<T?>? list, string field, List<string> problems)
        where T : class
    {
        if (list is null)
        {
            problems.Add($"'{field}' must be a list, not null or missing");
            return [];
        }

        if (list.Any(item => item is null))
        {
            problems.Add($"'{field}' has an empty (null) entry");
        }

        return [.. list.OfType<T>()];
    }

    private static void CheckSpecs(string kind, IReadOnlyList<ManifestTensorSpec> specs, List<string> problems)
    {
        foreach (var spec in specs)
        {
            if (!TensorDataTypes.TryParse(spec.Datatype, out _))
            {
                problems.Add($"{kind} '{spec.Name}' datatype '{spec.Datatype}' is not an Open Inference Protocol datatype");
            }

            if (spec.Shape is null)
            {
                problems.Add($"{kind} '{spec.Name}' has no shape");
            }
            else if (spec.Shape.Any(d => d < -1))
            {
                problems.Add($"{kind} '{spec.Name}' shape has a dimension below -1");
            }
        }
    }

    private static void CheckTensors(string kind, IReadOnlyList<ManifestTensor> tensors, HashSet<string> files, List<string> problems)
    {
        foreach (var tensor in tensors)
        {
            if (!TensorDataTypes.TryParse(tensor.Datatype, out _))
            {
                problems.Add($"{kind} '{tensor.Name}' datatype '{tensor.Datatype}' is not an Open Inference Protocol datatype");
            }

            if (tensor.Shape is null || tensor.Shape.Any(d => d < 0))
            {
                problems.Add($"{kind} '{tensor.Name}' needs a concrete shape");
            }

            if ((tensor.Data is null) == (tensor.File is null))
            {
                problems.Add($"{kind} '{tensor.Name}' needs exactly one of 'data' or 'file'");
            }
            else if (tensor.File is { } file && !files.Contains(file))
            {
                problems.Add($"{kind} '{tensor.Name}' file '{file}' is not one of the listed files");
            }
        }
    }

    /// <summary>Each pair joins an output and an input of one datatype, each used once; the initial state is concrete.</summary>
    private static void CheckStates(ModelManifest m, HashSet<string> files, List<string> problems)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pair in Listed(m.States, "states", problems))
        {
            var input = m.Inputs?.FirstOrDefault(i => i?.Name == pair.Input);
            var output = m.Outputs?.FirstOrDefault(o => o?.Name == pair.Output);
            if (input is null || output is null)
            {
                problems.Add($"state {pair.Output}={pair.Input}: {(output is null ? $"'{pair.Output}' is not an output" : $"'{pair.Input}' is not an input")} of the model");
                continue;
            }

            if (input.Datatype != output.Datatype)
            {
                problems.Add($"state {pair.Output}={pair.Input}: the output is {output.Datatype}, the input {input.Datatype}");
            }

            if (!used.Add("in:" + pair.Input) || !used.Add("out:" + pair.Output))
            {
                problems.Add($"state {pair.Output}={pair.Input}: each input and output may be in one pair only");
            }

            if (pair.Shape is null || pair.Shape.Any(d => d < 0) || pair.Shape.Count != input.Shape?.Count)
            {
                problems.Add($"state {pair.Output}={pair.Input}: the initial state needs a concrete shape of the input's rank");
            }

            if (pair.File is { } file && !files.Contains(file))
            {
                problems.Add($"state {pair.Output}={pair.Input}: file '{file}' is not one of the listed files");
            }
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex ModelName();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Hex();
}
