using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using EdgeMl.Agent.Protocol;
using EdgeMl.Runtime;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Providers;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeMl.Agent.Cli;

/// <summary>
/// <c>edgeml predict</c>: loads a model (an ONNX file or a package folder) through the same engine the agent
/// serves with, runs predictions on an input file or a generated sample, and prints outputs, provider and latency.
/// </summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var model = new Option<FileSystemInfo>("--model") { Description = "An .onnx file or a model package folder", Required = true };
        var input = new Option<FileInfo?>("--input") { Description = "JSON request: {\"inputs\":[{\"name\",\"datatype\",\"shape\",\"data\"}]}" };
        var shape = new Option<string?>("--shape") { Description = "Shape of a generated sample input, e.g. 1,3,48,192 (when no --input)" };
        var count = new Option<int>("--count") { Description = "Predictions to run", DefaultValueFactory = _ => 1 };
        var providers = new Option<string>("--providers") { Description = "Provider chain, e.g. tensorrt,cuda,cpu", DefaultValueFactory = _ => "cpu" };
        var require = new Option<bool>("--require") { Description = "Fail when the first provider is missing instead of falling back" };
        var strict = new Option<bool>("--strict") { Description = "As --require, and fail when any node would fall to the CPU (naming them)" };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads (0: one per core)" };
        var command = new Command("predict", "Run predictions on a model from the command line") { model, input, shape, count, providers, require, strict, threads };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new PredictOptions(
                parse.GetValue(model)!, parse.GetValue(input), parse.GetValue(shape), parse.GetValue(count),
                ProviderChainOptions.Of(parse.GetValue(strict) ? ProviderPolicy.Strict : parse.GetValue(require) ? ProviderPolicy.Require : ProviderPolicy.Prefer, parse.GetValue(providers)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)),
                parse.GetValue(threads));
            return await RunAsync(options, Console.Out, Console.Error, cancellationToken);
        });
        return command;
    }

    internal static async Task<int> RunAsync(PredictOptions options, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (options.Count < 1)
        {
            await error.WriteLineAsync("--count must be 1 or more");
            return 2;
        }

        InferenceTensor[] inputs;
        ModelDefinition definition;
        try
        {
            inputs = options.Input is { } file ? ReadInputs(file) : [];
            if (inputs.Length == 0 && options.Shape is null)
            {
                throw new ArgumentException("give --input FILE, or --shape for a generated sample input");
            }

            definition = Define(options, inputs);
        }
        catch (Exception e) when (e is ModelManifestException or IOException or UnauthorizedAccessException or FormatException or ArgumentException)
        {
            await error.WriteLineAsync($"edgeml predict: {e.Message}");
            return 2;
        }

        await using var services = new ServiceCollection().AddLogging().AddMetrics().AddEdgeMlRuntime().BuildServiceProvider();
        var engine = services.GetRequiredService<InferenceEngine>();
        var activation = await engine.ActivateAsync(definition, cancellationToken);
        if (!activation.Succeeded)
        {
            await error.WriteLineAsync($"edgeml predict: {definition} was not loaded: {activation.Failure!.Stage}: {activation.Failure.Reason}");
            return 1;
        }

        if (inputs.Length == 0)
        {
            inputs = SampleInputs(engine.GetStatus(definition.Name)!.Signature!, definition.WarmUp.Shapes[WarmUpOptions.AnyInput]);
        }

        var providers = activation.Providers!;
        await error.WriteLineAsync($"{definition} on {providers.Effective}{(providers.IsDegraded ? $" (degraded: {providers.DegradedReason})" : "")}; nodes by provider: {string.Join(", ", providers.NodesByProvider.Select(p => $"{p.Key}={p.Value}"))}");

        var (last, latencies) = await TimeAsync(engine, definition.Name, inputs, options.Count, cancellationToken);
        if (last is { IsSuccess: false })
        {
            await error.WriteLineAsync($"edgeml predict: {last.Error}");
            return 1;
        }

        await output.WriteLineAsync(PredictionJson.Format(last!));
        Array.Sort(latencies);
        await error.WriteLineAsync($"{options.Count} predictions: p50 {Percentile(latencies, 0.50):F3} ms, p99 {Percentile(latencies, 0.99):F3} ms");
        return 0;
    }

    /// <summary>Runs the inputs <paramref name="count"/> times, timing each run; stops at the first failure, which it returns.</summary>
    private static async Task<(InferenceResult? Last, double[] Latencies)> TimeAsync(
        InferenceEngine engine, string model, InferenceTensor[] inputs, int count, CancellationToken cancellationToken)
    {
        var latencies = new double[count];
        InferenceResult? last = null;
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            last = await engine.InferAsync(model, new InferenceRequest(inputs), cancellationToken: cancellationToken);
            latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (!last.IsSuccess)
            {
                break;
            }
        }

        return (last, latencies);
    }

    private static ModelDefinition Define(PredictOptions options, InferenceTensor[] inputs)
    {
        var session = new ModelSessionOptions { IntraOpThreads = options.Threads };
        var warmUpShapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        if (options.Shape is { } shapeText)
        {
            warmUpShapes[WarmUpOptions.AnyInput] = ParseShape(shapeText);
        }

        foreach (var input in inputs)
        {
            warmUpShapes[input.Name] = input.Shape.ToArray();
        }

        if (options.Model is DirectoryInfo folder)
        {
            return ModelPackage.Open(folder.FullName).CreateDefinition(new ModelRuntimeSettings { Session = session, Providers = options.Providers, WarmUpShapes = warmUpShapes });
        }

        if (!options.Model.Exists)
        {
            throw new IOException($"{options.Model.FullName} does not exist");
        }

        var definition = new ModelDefinition
        {
            Name = Path.GetFileNameWithoutExtension(options.Model.Name).ToLowerInvariant(),
            Version = 1,
            ModelPath = options.Model.FullName,
            Session = session,
            Providers = options.Providers,
            WarmUp = new WarmUpOptions { Inputs = inputs },
        };
        foreach (var (name, shape) in warmUpShapes)
        {
            definition.WarmUp.Shapes[name] = shape;
        }

        return definition;
    }

    /// <summary>A deterministic sample in [0, 1) for every input, shaped by --shape.</summary>
    private static InferenceTensor[] SampleInputs(ModelSignature signature, long[] shape)
    {
        var random = new Random(1);
        var data = new float[shape.Aggregate(1L, (a, d) => a * d)];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = random.NextSingle();
        }

        return signature.Inputs.Select(spec => spec.DataType == TensorDataType.Fp32
                ? InferenceTensor.Create(spec.Name, shape, data)
                : throw new ArgumentException($"input '{spec.Name}' is {spec.DataType.ToProtocolName()}; generated samples are FP32 only, give --input"))
            .ToArray();
    }

    /// <summary>The request file read as the HTTP API reads a request body, so what one accepts the other does, in the same words.</summary>
    private static InferenceTensor[] ReadInputs(FileInfo file)
    {
        try
        {
            return [.. InferRequestReader.Read(File.ReadAllBytes(file.FullName), null).Request.Inputs];
        }
        catch (ProtocolException e)
        {
            throw new FormatException($"--input {file.Name} is not an Open Inference Protocol request: {e.Message}");
        }
    }

    private static long[] ParseShape(string text) =>
        text.Split(',', StringSplitOptions.TrimEntries).Select(d => long.TryParse(d, out var v) && v > 0 ? v : throw new FormatException($"--shape '{text}' must be positive integers separated by commas")).ToArray();

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}

internal sealed record PredictOptions(FileSystemInfo Model, FileInfo? Input, string? Shape, int Count, ProviderChainOptions Providers, int Threads);
