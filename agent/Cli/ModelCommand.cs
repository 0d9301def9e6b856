using System.CommandLine;
using System.Globalization;
using EdgeMl.Runtime.Packages;

namespace EdgeMl.Agent.Cli;

/// <summary><c>edgeml model pack|sign|verify|publish|pull|rollback</c>: the operator's model distribution verbs.</summary>
internal static class ModelCommand
{
    public static Command Create() => new("model", "Package, sign, verify, publish and pull model versions")
    {
        Pack(),
        Sign(),
        Verify(),
        ModelTransferCommands.Publish(),
        ModelTransferCommands.Pull(),
        ModelTransferCommands.Rollback(),
    };

    internal static Option<FileInfo[]> TrustOption() =>
        new("--trust") { Description = "A trusted public key PEM (repeatable)", AllowMultipleArgumentsPerToken = true };

    internal static TrustedKeys LoadTrust(IEnumerable<FileInfo> files) => TrustedKeys.FromPem(files.Select(f => File.ReadAllText(f.FullName)));

    private static Command Pack()
    {
        var model = new Argument<FileInfo>("MODEL.onnx") { Description = "The ONNX model" };
        var name = new Option<string>("--name") { Description = "Model name (a-z, 0-9, '-', '_', '.')", Required = true };
        var version = new Option<long>("--version") { Description = "Integer version, higher than any published before", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "Package folder to create", Required = true };
        var shapes = new Option<string[]>("--shape") { Description = "Concrete shape for a dynamic input, INPUT=1,3,48,192 (repeatable)", AllowMultipleArgumentsPerToken = true };
        var warmUp = new Option<int>("--warmup-runs") { Description = "Warm-up runs before serving", DefaultValueFactory = _ => 1 };
        var golden = new Option<int>("--golden") { Description = "Golden samples to record (seeded random FP32 inputs and this model's outputs)", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--golden-seed") { Description = "Seed of the golden inputs", DefaultValueFactory = _ => 1 };
        var providers = new Option<string?>("--providers") { Description = "Recommended provider chain, e.g. tensorrt,cuda,cpu" };
        var description = new Option<string?>("--description") { Description = "Free text" };
        var baseline = new Option<FileSystemInfo?>("--baseline")
        {
            Description = "Sample requests (a folder of Open Inference Protocol *.json files, a .jsonl file, or one file) to build the drift baseline from",
        };
        var requests = new Option<FileInfo[]>("--sample")
        {
            Description = "A real request for the model (Open Inference Protocol JSON, or JSON header then binary data): warm-up runs on it and golden outputs are recorded from it (repeatable)",
        };
        var states = new Option<string[]>("--state")
        {
            Description = "A state pair OUTPUT=INPUT of a recurrent model: the server keeps it per sequence (sequence_id), starting from zeros or --initial-state (repeatable)",
        };
        var initialStates = new Option<FileInfo?>("--initial-state")
        {
            Description = "A request file (as --sample) whose inputs are the initial state of the --state inputs it names; the others start from zeros",
        };
        var bins = new Option<int>("--baseline-bins") { Description = "Histogram bins per baseline distribution", DefaultValueFactory = _ => 10 };
        var command = new Command("pack", "Package an ONNX model: manifest with its signature read from the model, hashes, warm-up and golden samples, optional drift baseline")
        {
            model, name, version, output, shapes, warmUp, golden, seed, providers, description, baseline, bins, requests, states, initialStates,
        };
        command.SetAction(parse => Run("pack", () =>
        {
            var options = new PackageBuildOptions
            {
                Name = parse.GetValue(name)!,
                Version = parse.GetValue(version),
                Description = parse.GetValue(description),
                WarmUpRuns = parse.GetValue(warmUp),
                GoldenSamples = parse.GetValue(golden),
                GoldenSeed = parse.GetValue(seed),
                Providers = parse.GetValue(providers)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [],
                Shapes = ParseShapes(parse.GetValue(shapes) ?? []),
                Samples = [.. (parse.GetValue(requests) ?? []).Select(f => SampleRequest.Read(f))],
                States = [.. (parse.GetValue(states) ?? []).Select(ParseState)],
                InitialStates = parse.GetValue(initialStates) is { } initial ? SampleRequest.Read(initial, "--initial-state") : [],
            };
            var folder = parse.GetValue(output)!.FullName;
            var manifest = PackageBuilder.Pack(parse.GetValue(model)!.FullName, folder, options);
            var baselineSamples = parse.GetValue(baseline) is { } samples
                ? $", a drift baseline from {BaselineCommand.AddAsync(folder, samples, parse.GetValue(bins), CancellationToken.None).GetAwaiter().GetResult()} samples"
                : "";
            Console.Out.WriteLine($"packed {manifest.Name} v{manifest.Version}: {manifest.Files.Count} files, {manifest.Golden.Count} golden samples{baselineSamples}, in {folder} (unsigned; run 'edgeml model sign')");
            return 0;
        }));
        return command;
    }

    private static (string Output, string Input) ParseState(string text) =>
        text.Split('=', 2) is [{ Length: > 0 } output, { Length: > 0 } input]
            ? (output.Trim(), input.Trim())
            : throw new ArgumentException($"--state '{text}' must be OUTPUT=INPUT, e.g. stateN=state");

    private static Command Sign()
    {
        var folder = new Argument<DirectoryInfo>("DIR") { Description = "Package folder" };
        var key = new Option<FileInfo>("--key") { Description = "Private key PEM", Required = true };
        var command = new Command("sign", "Sign the exact bytes of a package's manifest.json into manifest.sig") { folder, key };
        command.SetAction(parse => Run("sign", () =>
        {
            using var signing = SigningKey.FromPem(File.ReadAllText(parse.GetValue(key)!.FullName));
            var dir = parse.GetValue(folder)!.FullName;
            var package = ModelPackage.Open(dir);
            using var own = TrustedKeys.FromPem([signing.ExportPublicKeyPem()]);
            PackageBuilder.Sign(dir, signing);
            // Signing vouches for the files too: check them now rather than on ten thousand devices.
            PackageVerifier.Verify(dir, new TrustPolicy(own), new PackageExpectation(package.Manifest.Name, package.Manifest.Version));
            Console.Out.WriteLine($"signed {package.Manifest.Name} v{package.Manifest.Version} with key {signing.KeyId}");
            return 0;
        }));
        return command;
    }

    private static Command Verify()
    {
        var folder = new Argument<DirectoryInfo>("DIR") { Description = "Package folder" };
        var trust = TrustOption();
        trust.Required = true;
        var command = new Command("verify", "Verify a package: signature by a trusted key, file sizes and hashes, paths") { folder, trust };
        command.SetAction(parse => Run("verify", () =>
        {
            using var keys = LoadTrust(parse.GetValue(trust)!);
            var dir = parse.GetValue(folder)!.FullName;
            var m = ModelPackage.Open(dir).Manifest;
            PackageVerifier.Verify(dir, new TrustPolicy(keys), new PackageExpectation(m.Name, m.Version));
            Console.Out.WriteLine($"{m.Name} v{m.Version}: signature and {m.Files.Count} files verified");
            return 0;
        }));
        return command;
    }

    /// <summary>Runs a verb, turning the expected failures into a message on stderr and an exit code.</summary>
    internal static int Run(string verb, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (ExitCodes.For(e) is { } code)
        {
            Console.Error.WriteLine($"edgeml model {verb}: {e.Message}");
            return code;
        }
    }

    private static Dictionary<string, long[]> ParseShapes(IEnumerable<string> specs)
    {
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var spec in specs)
        {
            var at = spec.IndexOf('=', StringComparison.Ordinal);
            if (at <= 0)
            {
                throw new ArgumentException($"--shape '{spec}' must look like INPUT=1,3,48,192");
            }

            shapes[spec[..at]] = spec[(at + 1)..].Split(',', StringSplitOptions.TrimEntries)
                .Select(d => long.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : throw new ArgumentException($"--shape '{spec}' must look like INPUT=1,3,48,192: positive sizes separated by commas"))
                .ToArray();
        }

        return shapes;
    }
}
