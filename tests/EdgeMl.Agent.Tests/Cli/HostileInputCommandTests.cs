using System.Diagnostics;
using System.Text.Json.Nodes;
using EdgeMl.Agent.Cli;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing;
using EdgeMl.Testing.Distribution;
using Xunit.Abstractions;

namespace EdgeMl.Agent.Tests.Cli;

/// <summary>
/// The real <c>edgeml</c> against a registry run by someone without the key, a model whose names are paths, a
/// damaged capture store, and SIGTERM: refusals with their exit codes, nothing written where it should not be.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed class HostileInputCommandTests(ITestOutputHelper output) : IDisposable
{
    // Guards keep a regression from hanging the suite; they are not timings under test.
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(2);
    private readonly TestPackages.TempFolder _temp = new();
    private readonly SigningKey _key = PackageKey;

    public void Dispose() => _temp.Dispose();

    private string Registry => _temp.Sub("registry");

    private string Data => _temp.Sub("data");

    [Fact]
    public async Task Publish_ListEditedInTheRegistry_ExitsThreeUntilANewListIsAskedFor()
    {
        var (keyFile, _) = await WriteKeysAsync();
        await OkAsync(["model", "publish", Package(1), "--registry", Registry, "--key", keyFile]);
        var listPath = Path.Combine(Registry, "cls", VersionsDocument.FileName);
        var forged = JsonNode.Parse(await File.ReadAllBytesAsync(listPath))!;
        forged["versions"]!.AsArray().Add(new JsonObject { ["version"] = 999999, ["manifestSha256"] = new string('a', 64) });
        await File.WriteAllTextAsync(listPath, forged.ToJsonString());

        var (refusedCode, _, refused) = await EdgeMlProcess.RunAsync(["model", "publish", Package(2), "--registry", Registry, "--key", keyFile], Guard);
        Assert.Equal(ExitCodes.Verification, refusedCode);
        Assert.Contains("does not verify", refused, StringComparison.Ordinal);
        Assert.Contains("--new-list", refused, StringComparison.Ordinal);
        Assert.Contains("999999", await File.ReadAllTextAsync(listPath), StringComparison.Ordinal);

        var (_, published, started) = await OkAsync(["model", "publish", Package(2), "--registry", Registry, "--key", keyFile, "--new-list"]);
        Assert.Contains("--new-list: started a new versions.json for cls", started, StringComparison.Ordinal);
        Assert.Contains("versions.json lists 2,", published, StringComparison.Ordinal);
        using var trusted = TrustedKeys.FromPem([_key.ExportPublicKeyPem()]);
        var (listBytes, sigBytes) = (await File.ReadAllBytesAsync(listPath), await File.ReadAllBytesAsync(Path.Combine(Registry, "cls", VersionsDocument.SignatureFileName)));
        var list = VersionsDocument.ParseVerified(listBytes, sigBytes, true, new TrustPolicy(trusted), "cls", DateTimeOffset.UtcNow);
        Assert.Equal([2L], list.Versions.Select(v => v.Version));
    }

    [Fact]
    public async Task Pull_OlderListReplayedAfterANewerOneWasSeen_ExitsThreeAndV1StaysActive()
    {
        var (_, trust) = await WriteKeysAsync();
        TestPackages.PublishToFolder(Registry, Package(1), _key, DateTimeOffset.UtcNow.AddDays(1));
        var listPath = Path.Combine(Registry, "cls", VersionsDocument.FileName);
        var sigPath = Path.Combine(Registry, "cls", VersionsDocument.SignatureFileName);
        var (oldList, oldSig) = (await File.ReadAllBytesAsync(listPath), await File.ReadAllBytesAsync(sigPath));
        await OkAsync(["model", "pull", "cls", "--registry", Registry, "--trust", trust, "--data", Data]);
        TestPackages.PublishToFolder(Registry, Package(2), _key, DateTimeOffset.UtcNow.AddDays(1));
        // The device sees the list with v2 but stays on v1 for now; then the registry serves the old list again.
        await OkAsync(["model", "pull", "cls", "--version", "1", "--registry", Registry, "--trust", trust, "--data", Data]);
        await File.WriteAllBytesAsync(listPath, oldList);
        await File.WriteAllBytesAsync(sigPath, oldSig);

        var (code, _, error) = await EdgeMlProcess.RunAsync(["model", "pull", "cls", "--registry", Registry, "--trust", trust, "--data", Data], Guard);

        Assert.Equal(ExitCodes.Verification, code);
        Assert.Contains("older than the list already seen", error, StringComparison.Ordinal);
        Assert.Equal(1, new ModelStore(new ModelStoreOptions { DataDirectory = Data }).GetActive("cls")!.Version);
    }

    [Fact]
    public async Task Pull_FolderRegistryWithAFifoForItsList_ExitsFourAtOnceWithoutBlocking()
    {
        var (_, trust) = await WriteKeysAsync();
        TestPackages.PublishToFolder(Registry, Package(1), _key, DateTimeOffset.UtcNow.AddDays(1));
        var list = Path.Combine(Registry, "cls", VersionsDocument.FileName);
        File.Delete(list);
        SpecialFiles.MakeFifo(list);

        var (code, _, error) = await EdgeMlProcess.RunAsync(["model", "pull", "cls", "--registry", Registry, "--trust", trust, "--data", Data], Guard);

        Assert.Equal(ExitCodes.Transfer, code);
        Assert.Contains("cls/versions.json", error, StringComparison.Ordinal);
        Assert.Contains("is not a regular file", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_HttpRegistryTricklingOneByteEveryTwoSeconds_ExitsFourAsStalled()
    {
        var (_, trust) = await WriteKeysAsync();
        TestPackages.PublishToFolder(Registry, Package(1), _key, DateTimeOffset.UtcNow.AddDays(1));
        await using var server = new LoopbackRegistryServer(Registry) { Faults = (_, _, _) => new ServerFault { TrickleInterval = TimeSpan.FromSeconds(2) } };

        var (code, _, error) = await EdgeMlProcess.RunAsync(
            ["model", "pull", "cls", "--registry", server.Uri.AbsoluteUri, "--trust", trust, "--data", Data, "--stall-seconds", "1"], Guard);

        Assert.Equal(ExitCodes.Transfer, code);
        Assert.Contains("cls/versions.json", error, StringComparison.Ordinal);
        Assert.Contains("stalled: fewer than 4096 bytes/s over 1 s", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_SigtermWhileTheRegistryTrickles_StopsWithExitCode130()
    {
        var (_, trust) = await WriteKeysAsync();
        TestPackages.PublishToFolder(Registry, Package(1), _key, DateTimeOffset.UtcNow.AddDays(1));
        await using var server = new LoopbackRegistryServer(Registry) { Faults = (_, _, _) => new ServerFault { TrickleInterval = TimeSpan.FromSeconds(2) } };
        using var pull = Process.Start(EdgeMlProcess.StartInfo(
            ["model", "pull", "cls", "--registry", server.Uri.AbsoluteUri, "--trust", trust, "--data", Data, "--stall-seconds", "600"]))!;
        var error = pull.StandardError.ReadToEndAsync();
        Assert.True(await server.Hanging.WaitAsync(Guard), "the pull never reached the registry");

        var signalled = Stopwatch.StartNew();
        using (var kill = Process.Start("kill", ["-TERM", pull.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var guard = new CancellationTokenSource(Guard);
        await pull.WaitForExitAsync(guard.Token);
        output.WriteLine($"[figure] edgeml model pull ended {signalled.ElapsedMilliseconds} ms after SIGTERM");
        Assert.Equal(ExitCodes.Stopped, pull.ExitCode);
        Assert.Contains("stopped by Ctrl+C or SIGTERM", await error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pack_ModelInputNamedLikeAPath_GoldenFilesNamedByIndexInsideTheOutputFolder()
    {
        const string InputName = "../../../../outside/x";
        var model = _temp.Sub("identity.onnx");
        await File.WriteAllBytesAsync(model, OnnxFiles.Identity(InputName));
        var nest = Directory.CreateDirectory(_temp.Sub(Path.Combine("a", "b"))).FullName;
        var package = Path.Combine(nest, "pkg");
        var (keyFile, _) = await WriteKeysAsync();

        await OkAsync(["model", "pack", model, "--name", "ident", "--version", "1", "--out", package, "--golden", "2"]);
        await OkAsync(["model", "sign", package, "--key", keyFile]);

        Assert.False(Directory.Exists(_temp.Sub(Path.Combine("a", "outside"))), "pack wrote outside --out");
        Assert.Equal([.. new[] { "golden/0/0.bin", "golden/1/0.bin", "manifest.json", "manifest.sig", "model.onnx" }],
            Directory.EnumerateFiles(package, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(package, f)).Order(StringComparer.Ordinal));
        var manifest = ModelPackage.Open(package).Manifest;
        Assert.Equal(InputName, manifest.Inputs.Single().Name);
        Assert.Equal(InputName, manifest.Golden[0].Inputs.Single().Name);
        Assert.Equal("golden/0/0.bin", manifest.Golden[0].Inputs.Single().File);
    }

    [Fact]
    public async Task CaptureExport_CorruptStore_ExitsElevenAndLeavesEveryFileAsItWas()
    {
        var capture = Directory.CreateDirectory(Path.Combine(Data, "capture")).FullName;
        var garbage = Enumerable.Range(0, 8192).Select(i => (byte)(i * 7)).ToArray();
        await File.WriteAllBytesAsync(Path.Combine(capture, "capture.db"), garbage);

        var (code, _, error) = await EdgeMlProcess.RunAsync(["capture", "export", "--out", _temp.Sub("x.parquet"), "--data", Data], Guard);

        Assert.Equal(ExitCodes.Damaged, code);
        Assert.Contains("is damaged", error, StringComparison.Ordinal);
        Assert.Contains("left as it is", error, StringComparison.Ordinal);
        Assert.Equal([Path.Combine(capture, "capture.db")], Directory.EnumerateFiles(capture));
        Assert.Equal(garbage, await File.ReadAllBytesAsync(Path.Combine(capture, "capture.db")));
        Assert.False(File.Exists(_temp.Sub("x.parquet")));
    }

    // Packed once per process and only read by the tests (publish copies them): packing runs ONNX Runtime.
    private static readonly SigningKey PackageKey = SigningKey.Create();
    private static readonly string TemplateRoot = Path.Combine(Path.GetTempPath(), "edgeml-cli-templates-" + Environment.ProcessId);
    private static readonly Lazy<string>[] Templates =
        [.. new[] { 1L, 2L }.Select(v => new Lazy<string>(() => TestPackages.Classifier(Path.Combine(TemplateRoot, $"cls-{v}"), "cls", v, PackageKey, goldenSamples: 0)))];

    private static string Package(long version) => Templates[version - 1].Value;

    /// <returns>The private key file and the public key file.</returns>
    private async Task<(string Key, string Trust)> WriteKeysAsync()
    {
        var keys = Directory.CreateDirectory(_temp.Sub("keys")).FullName;
        await File.WriteAllTextAsync(Path.Combine(keys, "ops.key.pem"), _key.ExportPrivateKeyPem());
        await File.WriteAllTextAsync(Path.Combine(keys, "ops.pub.pem"), _key.ExportPublicKeyPem());
        return (Path.Combine(keys, "ops.key.pem"), Path.Combine(keys, "ops.pub.pem"));
    }

    private static async Task<(int Code, string Output, string Error)> OkAsync(string[] args)
    {
        var result = await EdgeMlProcess.RunAsync(args, Guard);
        Assert.True(result.Code == 0, $"edgeml {string.Join(' ', args)} exited {result.Code}: {result.Error}");
        return result;
    }
}
