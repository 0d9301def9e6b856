using System.Globalization;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Benchmarks;

/// <summary>The remote harness: start-up and idle memory of two builds (`startup`).</summary>
internal static partial class RemoteLatencyHarness
{
    /// <summary>
    /// <c>startup --agent PUBLISH_DIR --baseline PUBLISH_DIR [--starts N]</c>: two builds started in turns, first with the
    /// classifier alone on disk (issue 13's goal), then with two models, so both see the same machine: start to ready and
    /// idle memory, medians of N starts each.
    /// </summary>
    public static async Task CompareStartupAsync(string[] args)
    {
        var builds = new[] { ("this build", Option(args, "--agent")), ("baseline", Option(args, "--baseline")) };
        var starts = int.Parse(Option(args, "--starts") ?? "5", CultureInfo.InvariantCulture);
        var models = Directory.CreateTempSubdirectory("edgeml-remote-models-").FullName;
        try
        {
            var dense = Path.Combine(models, "dense.onnx");
            await File.WriteAllBytesAsync(dense, OnnxFiles.Dense(DenseInputs, 512, 16, seed: 1));
            (string, string, string?) classifier = ("cls", ModelFixtures.Classifier, "x=1,3,48,192");
            await CompareStartupAsync(builds, starts, "the classifier", [classifier]);
            await CompareStartupAsync(builds, starts, "2 models (classifier, dense)", [classifier, ("dense", dense, null)]);
        }
        finally
        {
            Directory.Delete(models, recursive: true);
        }
    }

    private static async Task CompareStartupAsync((string Name, string? Folder)[] builds, int starts, string onDisk, (string, string, string?)[] models)
    {
        var agents = new List<RemoteAgent>();
        try
        {
            foreach (var (_, folder) in builds)
            {
                var agent = await RemoteAgent.PrepareAsync(folder ?? throw new ArgumentException("startup needs --agent DIR and --baseline DIR"), models, []);
                agents.Add(agent);
                await agent.StartAsync();
                await agent.StopAsync();
            }

            var ready = agents.Select(_ => new List<double>()).ToArray();
            var idle = agents.Select(_ => new List<(double Total, double Anonymous, double File)>()).ToArray();
            for (var i = 0; i < starts; i++)
            {
                for (var b = 0; b < agents.Count; b++)
                {
                    ready[b].Add((await agents[b].StartAsync()).TotalMilliseconds);
                    await Task.Delay(RemoteAgent.Settle);
                    idle[b].Add(agents[b].ResidentMegabytes());
                    await agents[b].StopAsync();
                }
            }

            Console.WriteLine($"{starts} starts each, in turns, {onDisk} on disk; {Environment.ProcessorCount} cores; load average {LoadAverage()}");
            Console.WriteLine("| build | start to ready, median ms | idle RSS, median MB | anonymous MB | file-backed MB |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
            for (var b = 0; b < agents.Count; b++)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {builds[b].Name} ({builds[b].Folder}) | {Median(ready[b]):F0} | {Median([.. idle[b].Select(m => m.Total)]):F1} | {Median([.. idle[b].Select(m => m.Anonymous)]):F1} | {Median([.. idle[b].Select(m => m.File)]):F1} |"));
            }
        }
        finally
        {
            foreach (var agent in agents)
            {
                await agent.DisposeAsync();
            }
        }
    }
}
