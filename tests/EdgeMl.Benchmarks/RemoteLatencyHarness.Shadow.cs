using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Benchmarks;

/// <summary>The remote harness: what a shadow costs callers (`shadow-cost`).</summary>
internal static partial class RemoteLatencyHarness
{
    /// <summary>
    /// <c>shadow-cost [rounds] --agent PUBLISH_DIR</c>: two <c>edgeml run</c> of the same build serving the dense model v1,
    /// one with a shadow v2 (other weights, every request copied, never promoted), measured in turns from this process
    /// over HTTP binary: what a shadow costs the callers. Then the shadow's own figures from its health.
    /// </summary>
    public static async Task CompareShadowAsync(string[] args)
    {
        var rounds = args.Length > 1 && int.TryParse(args[1], CultureInfo.InvariantCulture, out var r) ? r : 40;
        var folder = Option(args, "--agent") ?? throw new ArgumentException("shadow-cost needs --agent PUBLISH_DIR");
        var models = Directory.CreateTempSubdirectory("edgeml-shadow-models-").FullName;
        var agents = new List<RemoteAgent>();
        try
        {
            var v1 = Path.Combine(models, "dense-1.onnx");
            var v2 = Path.Combine(models, "dense-2.onnx");
            await File.WriteAllBytesAsync(v1, OnnxFiles.Dense(DenseInputs, 512, 16, seed: 1));
            await File.WriteAllBytesAsync(v2, OnnxFiles.Dense(DenseInputs, 512, 16, seed: 2));
            string[] pinned = ["--EdgeMl:Desired:models:dense:version=1"];
            string[] shadow = [.. pinned, "--EdgeMl:Desired:models:dense:shadow:version=2", "--EdgeMl:Desired:models:dense:shadow:sampleRate=1", "--EdgeMl:Desired:models:dense:shadow:promoteWhen=false"];
            foreach (var extra in new[] { pinned, shadow })
            {
                var agent = await RemoteAgent.PrepareAsync(folder, [("dense", v1, null)], extra);
                await agent.PublishAsync("dense", v2, 2);
                await agent.StartAsync();
                agents.Add(agent);
            }

            // The shadow is installed and loaded after the start: wait until it compares.
            var started = Stopwatch.StartNew();
            using (var warm = new ModelClient(agents[1].Http, agents[1].Grpc, new Model("dense", v1, "x", [1, DenseInputs], "y")))
            {
                while ((await ShadowFiguresAsync(agents[1]))?.GetProperty("compared").GetInt64() is not > 0)
                {
                    await warm.BinaryAsync();
                    if (started.Elapsed > TimeSpan.FromMinutes(2))
                    {
                        throw new TimeoutException("the shadow did not start comparing within 2 minutes");
                    }
                }
            }

            var model = new Model("dense", v1, "x", [1, DenseInputs], "y");
            using var without = new ModelClient(agents[0].Http, agents[0].Grpc, model);
            using var with = new ModelClient(agents[1].Http, agents[1].Grpc, model);
            List<(string Name, ModelClient Client, List<double> Samples)> paths = [("without a shadow", without, []), ("with a shadow (every request copied)", with, [])];
            foreach (var (_, client, _) in paths)
            {
                for (var i = 0; i < 200; i++)
                {
                    await client.BinaryAsync();
                }
            }

            for (var round = 0; round < rounds; round++)
            {
                foreach (var (_, client, samples) in paths)
                {
                    for (var i = 0; i < PerRound; i++)
                    {
                        var t = Stopwatch.GetTimestamp();
                        await client.BinaryAsync();
                        samples.Add(Stopwatch.GetElapsedTime(t).TotalMicroseconds);
                    }
                }

                Console.Error.Write($"\rshadow-cost: round {round + 1}/{rounds}");
            }

            Console.Error.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"### dense 768→512→512→16, HTTP binary, {rounds * PerRound} requests per agent, taking turns in rounds of {PerRound}; {Environment.ProcessorCount} cores; load average {LoadAverage()}"));
            Console.WriteLine();
            Console.WriteLine("| agent | P50 µs | P99 µs | P50 ratio | P99 ratio |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
            var (baseP50, baseP99) = (Percentile(paths[0].Samples, 50), Percentile(paths[0].Samples, 99));
            foreach (var (name, _, samples) in paths)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {Percentile(samples, 50):F1} | {Percentile(samples, 99):F1} | {Percentile(samples, 50) / baseP50:F3} | {Percentile(samples, 99) / baseP99:F3} |"));
            }

            var figures = await ShadowFiguresAsync(agents[1]);
            Console.WriteLine($"shadow health: {figures}");
        }
        finally
        {
            foreach (var agent in agents)
            {
                await agent.DisposeAsync();
            }

            Directory.Delete(models, recursive: true);
        }
    }

    private static async Task<JsonElement?> ShadowFiguresAsync(RemoteAgent agent)
    {
        using var response = await agent.Http.GetAsync("/api/health");
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

        using var document = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        return document.RootElement.TryGetProperty("proving", out var proving) && proving.ValueKind == JsonValueKind.Object
            && proving.GetProperty("shadows").EnumerateArray().FirstOrDefault() is { ValueKind: JsonValueKind.Object } shadow
            ? shadow.Clone()
            : null;
    }
}
