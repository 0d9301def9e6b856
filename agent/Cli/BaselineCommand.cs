using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Protocol;
using EdgeMl.Runtime;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Tensors;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeMl.Agent.Cli;

/// <summary>
/// <c>edgeml model pack … --baseline SAMPLES</c>: runs the packed model over sample requests and writes the drift
/// baseline (per-input mean and standard deviation, output classes or histograms) into its manifest, before signing.
/// </summary>
internal static class BaselineCommand
{
    /// <summary>The samples: a folder of Open Inference Protocol request files (<c>*.json</c>), a JSON Lines file of requests, or one request file.</summary>
    public static IEnumerable<(string Where, InferenceRequest Request)> ReadSamples(FileSystemInfo samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples is DirectoryInfo folder || Directory.Exists(samples.FullName))
        {
            var files = Directory.EnumerateFiles(samples.FullName, "*.json").Order(StringComparer.Ordinal).ToArray();
            if (files.Length == 0)
            {
                throw new FileNotFoundException($"{samples.FullName} holds no *.json sample requests");
            }

            foreach (var file in files)
            {
                yield return (file, Parse(File.ReadAllBytes(file), file));
            }

            yield break;
        }

        if (!File.Exists(samples.FullName))
        {
            throw new FileNotFoundException($"the baseline samples {samples.FullName} do not exist");
        }

        if (samples.FullName.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
        {
            var line = 0;
            foreach (var text in File.ReadLines(samples.FullName))
            {
                line++;
                if (text.Trim().Length > 0)
                {
                    var where = $"{samples.FullName}:{line}";
                    yield return (where, Parse(System.Text.Encoding.UTF8.GetBytes(text), where));
                }
            }

            yield break;
        }

        yield return (samples.FullName, Parse(File.ReadAllBytes(samples.FullName), samples.FullName));
    }

    /// <summary>Adds the baseline to the package's manifest; returns how many samples it was built from.</summary>
    public static async Task<long> AddAsync(string packageFolder, FileSystemInfo samples, int bins, CancellationToken cancellationToken)
    {
        var package = ModelPackage.Open(packageFolder);
        var manifest = package.Manifest;
        await using var services = new ServiceCollection().AddMetrics().AddEdgeMlRuntime().BuildServiceProvider();
        var engine = services.GetRequiredService<InferenceEngine>();
        var activation = await engine.ActivateAsync(package.CreateDefinition(new ModelRuntimeSettings { Providers = ProviderChainOptions.CpuOnly }), cancellationToken);
        if (activation.Failure is { } failure)
        {
            throw new InvalidDataException($"{manifest.Name} v{manifest.Version} does not load for the baseline ({failure.Stage}): {failure.Reason}");
        }

        var builder = new BaselineBuilder(BaselineBuilder.Defaults(manifest.Inputs, manifest.Outputs));
        foreach (var (where, request) in ReadSamples(samples))
        {
            var result = await engine.InferAsync(manifest.Name, request, cancellationToken: cancellationToken);
            if (!result.IsSuccess)
            {
                throw new InvalidDataException($"sample {where}: {result.Error!.Message}");
            }

            builder.Add(request.Inputs, result.Outputs);
        }

        var baseline = builder.Build(bins);
        var path = Path.Combine(packageFolder, ModelManifest.FileName);
        var json = JsonNode.Parse(await File.ReadAllBytesAsync(path, cancellationToken))!.AsObject();
        json["baseline"] = JsonNode.Parse(baseline.ToJson().GetRawText());
        await File.WriteAllTextAsync(path, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), cancellationToken);

        // Anything left over from an earlier signature no longer matches the manifest.
        File.Delete(Path.Combine(packageFolder, DetachedSignature.ManifestFileName));
        return baseline.Samples;
    }

    private static InferenceRequest Parse(byte[] body, string where)
    {
        try
        {
            return InferRequestReader.Read(body, null).Request;
        }
        catch (ProtocolException e)
        {
            throw new InvalidDataException($"sample {where} is not an Open Inference Protocol request: {e.Message}");
        }
    }
}
