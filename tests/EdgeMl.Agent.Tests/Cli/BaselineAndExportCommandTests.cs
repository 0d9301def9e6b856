using System.Text.Json.Nodes;
using EdgeMl.Agent.Tests.Capture;
using EdgeMl.CloudSync.Upload;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.Cli;

/// <summary><c>edgeml model pack --baseline</c> and <c>edgeml capture export</c> through the real executable.</summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed class BaselineAndExportCommandTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(3);
    private readonly TestPackages.TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Pack_WithBaselineSamples_WritesABaselineTheAgentReadsAndTheSignatureCovers()
    {
        var samples = Directory.CreateDirectory(_temp.Sub("samples")).FullName;
        for (var i = 0; i < 6; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(samples, $"s{i}.json"), Request(ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, seed: i)));
        }

        var package = _temp.Sub("pkg");
        var (code, output, error) = await EdgeMlProcess.RunAsync(
            ["model", "pack", ModelFixtures.Classifier, "--name", "cls", "--version", "1", "--out", package, "--shape", "x=1,3,48,192", "--baseline", samples],
            Guard);

        Assert.True(code == 0, error);
        Assert.Contains("a drift baseline from 6 samples", output, StringComparison.Ordinal);
        var baseline = DriftBaseline.FromManifest(ModelPackage.Open(package).Manifest)!;
        Assert.Equal(6, baseline.Samples);
        Assert.Contains(baseline.Inputs, d => d.Tensor == ModelFixtures.ClassifierInput && d.Statistic == BaselineStatistic.Mean);
        var classes = Assert.Single(baseline.Outputs, d => d.Tensor == ModelFixtures.ClassifierOutput);
        Assert.Equal(6, classes.Counts.Sum());

        // Signed after the baseline: the signature covers it.
        using var key = SigningKey.Create();
        PackageBuilder.Sign(package, key);
        using var trusted = TrustedKeys.FromPem([key.ExportPublicKeyPem()]);
        PackageVerifier.Verify(package, new TrustPolicy(trusted), new PackageExpectation("cls", 1));
    }

    [Fact]
    public async Task Pack_BaselineSampleOfTheWrongShape_ExitsTwoNamingTheSample()
    {
        var sample = _temp.Sub("bad.jsonl");
        await File.WriteAllTextAsync(sample, Request(ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, 1)) + "\n" + """{"inputs":[{"name":"x","datatype":"FP32","shape":[1,3],"data":[1,2,3]}]}""" + "\n");

        var (code, _, error) = await EdgeMlProcess.RunAsync(
            ["model", "pack", ModelFixtures.Classifier, "--name", "cls", "--version", "1", "--out", _temp.Sub("pkg"), "--shape", "x=1,3,48,192", "--baseline", sample],
            Guard);

        Assert.Equal(2, code);
        Assert.Contains("bad.jsonl:2", error, StringComparison.Ordinal);
        Assert.Contains("'x'", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CaptureExport_RecordsInTheStore_WritesParquetAndKeepsThem()
    {
        var data = _temp.Sub("data");
        using var kit = new CaptureTestKit(Path.Combine(data, "capture"));
        using (var store = kit.Open())
        {
            store.Append([.. Enumerable.Range(0, 5).Select(i => kit.Record(i, "m")), .. Enumerable.Range(5, 3).Select(i => kit.Record(i, "other"))]);
        }

        var output = _temp.Sub("m.parquet");
        var before = Snapshot(kit.Folder);
        var (code, printed, error) = await EdgeMlProcess.RunAsync(["capture", "export", "--model", "m", "--out", output, "--data", data, "--device", "laptop-1"], Guard);

        Assert.True(code == 0, error);
        Assert.Equal(before, Snapshot(kit.Folder));
        Assert.Contains("exported 5 records of m", printed, StringComparison.Ordinal);
        await using var file = File.OpenRead(output);
        var rows = await CaptureParquet.ReadAsync(file, CancellationToken.None);
        Assert.Equal(5, rows.Count);
        Assert.All(rows, r => Assert.Equal("m", r.Model));
        Assert.Equal(8, kit.Reopen().RecordCount);
    }

    [Fact]
    public async Task CaptureExport_NoStoreInTheDataFolder_ExitsTwoSayingWhere()
    {
        var (code, _, error) = await EdgeMlProcess.RunAsync(["capture", "export", "--out", _temp.Sub("x.parquet"), "--data", _temp.Sub("empty")], Guard);

        Assert.Equal(2, code);
        Assert.Contains("no capture store", error, StringComparison.Ordinal);
    }

    // Every file of a folder with its SHA-256: what "left as it was" means. SQLite's -wal and -shm coordination
    // files are left out: any reader of a WAL database may create them, and they hold no records of their own here.
    private static string[] Snapshot(string folder) =>
        [.. Directory.EnumerateFiles(folder).Where(f => !f.EndsWith("-wal", StringComparison.Ordinal) && !f.EndsWith("-shm", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(f => $"{Path.GetFileName(f)} {Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)))}")];

    private static string Request(float[] data) => new JsonObject
    {
        ["inputs"] = new JsonArray(new JsonObject
        {
            ["name"] = ModelFixtures.ClassifierInput,
            ["datatype"] = "FP32",
            ["shape"] = new JsonArray(1, 3, 48, 192),
            ["data"] = new JsonArray(data.Select(v => (JsonNode)v).ToArray()),
        }),
    }.ToJsonString();
}
