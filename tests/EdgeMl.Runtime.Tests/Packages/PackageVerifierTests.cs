using EdgeMl.Runtime.Packages;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Runtime.Tests.Packages;

public sealed class PackageVerifierTests : IDisposable
{
    private readonly TestPackages.TempFolder _temp = new();
    private readonly SigningKey _key = SigningKey.Create();
    private readonly TrustedKeys _trusted;

    public PackageVerifierTests() => _trusted = TrustedKeys.FromPem([_key.ExportPublicKeyPem()]);

    private TrustPolicy Trust => new(_trusted);

    public void Dispose()
    {
        _trusted.Dispose();
        _key.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public void Verify_IntactSignedPackage_ReturnsPackage()
    {
        var folder = TestPackages.Classifier(_temp.Sub("p"), "cls", 1, _key);

        var package = PackageVerifier.Verify(folder, Trust, new PackageExpectation("cls", 1));

        Assert.Equal(1, package.Manifest.Version);
        Assert.Single(package.Manifest.Golden);
    }

    [Fact]
    public void Verify_FlippedBitInModel_RefusedAsHashMismatch()
    {
        var folder = TestPackages.Classifier(_temp.Sub("p"), "cls", 1, _key);
        TestPackages.FlipBit(Path.Combine(folder, PackageBuilder.ModelFileName), 5000);

        var e = Assert.Throws<PackageVerificationException>(() => PackageVerifier.Verify(folder, Trust, new PackageExpectation("cls", 1)));

        Assert.Equal(VerificationFailure.HashMismatch, e.Failure);
        Assert.Contains("model.onnx", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_TruncatedFile_RefusedAsSizeMismatch()
    {
        var folder = TestPackages.Classifier(_temp.Sub("p"), "cls", 1, _key);
        var model = Path.Combine(folder, PackageBuilder.ModelFileName);
        using (var stream = File.OpenWrite(model))
        {
            stream.SetLength(stream.Length / 2);
        }

        var e = Assert.Throws<PackageVerificationException>(() => PackageVerifier.Verify(folder, Trust, new PackageExpectation("cls", 1)));

        Assert.Equal(VerificationFailure.SizeMismatch, e.Failure);
    }

    [Theory]
    [InlineData("../escape.onnx")]
    [InlineData("/etc/passwd")]
    [InlineData("golden/../../x")]
    public void Verify_UnsafeFilePath_RefusedAsUnsafePath(string path)
    {
        var folder = TestPackages.Classifier(_temp.Sub("p"), "cls", 1, _key);
        TestPackages.EditManifest(folder, json => json.Replace("\"path\": \"golden/0/0.bin\"", $"\"path\": \"{path}\"", StringComparison.Ordinal), _key);

        var e = Assert.Throws<PackageVerificationException>(() => PackageVerifier.Verify(folder, Trust, new PackageExpectation("cls", 1)));

        Assert.Equal(VerificationFailure.UnsafePath, e.Failure);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_FileReachedThroughLink_RefusedAsUnsafePath()
    {
        var folder = TestPackages.Classifier(_temp.Sub("p"), "cls", 1, _key);
        var outside = _temp.Sub("outside");
        Directory.Move(Path.Combine(folder, "golden"), outside);
        Directory.CreateSymbolicLink(Path.Combine(folder, "golden"), outside);

        var e = Assert.Throws<PackageVerificationException>(() => PackageVerifier.Verify(folder, Trust, new PackageExpectation("cls", 1)));

        Assert.Equal(VerificationFailure.UnsafePath, e.Failure);
        Assert.Contains("link", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_ExternalDataOutsidePackage_RefusedAsExternalDataOutside()
    {
        var folder = _temp.Sub("p");
        var model = OnnxWithExternalData("../../secrets.bin");
        var onnx = Path.Combine(_temp.Path, "ext.onnx");
        File.WriteAllBytes(onnx, model);
        PackageBuilder.Pack(ModelFixtures(), folder, new PackageBuildOptions { Name = "cls", Version = 1 });
        File.WriteAllBytes(Path.Combine(folder, PackageBuilder.ModelFileName), model);
        TestPackages.EditManifest(folder, json => RehashModel(json, folder), _key);

        var e = Assert.Throws<PackageVerificationException>(() => PackageVerifier.Verify(folder, Trust, new PackageExpectation("cls", 1)));

        Assert.Equal(VerificationFailure.ExternalDataOutside, e.Failure);
        Assert.Contains("../../secrets.bin", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_EntryWithoutOnnxExtensionPointsOutside_RefusedAsExternalDataOutside()
    {
        // ONNX Runtime loads the entry whatever its name, so its external data is checked whatever its name.
        var folder = _temp.Sub("p");
        PackageBuilder.Pack(ModelFixtures(), folder, new PackageBuildOptions { Name = "cls", Version = 1 });
        File.WriteAllBytes(Path.Combine(folder, PackageBuilder.ModelFileName), OnnxWithExternalData("../../secrets.bin"));
        var rehashed = RehashModel(File.ReadAllText(Path.Combine(folder, ModelManifest.FileName)), folder);
        File.Move(Path.Combine(folder, PackageBuilder.ModelFileName), Path.Combine(folder, "model.bin"));
        TestPackages.EditManifest(folder, _ => rehashed.Replace("\"model.onnx\"", "\"model.bin\"", StringComparison.Ordinal), _key);

        var e = Assert.Throws<PackageVerificationException>(() => PackageVerifier.Verify(folder, Trust, new PackageExpectation("cls", 1)));

        Assert.Equal(VerificationFailure.ExternalDataOutside, e.Failure);
        Assert.Contains("model 'model.bin' refers to external data '../../secrets.bin'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("function")]
    [InlineData("training")]
    public void Verify_ExternalDataOutsideInFunctionOrTrainingGraph_RefusedAsExternalDataOutside(string where)
    {
        var original = File.ReadAllBytes(ModelFixtures());
        var model = where == "function"
            ? OnnxFiles.WithExternalDataInFunction(original, "../../secrets.bin")
            : OnnxFiles.WithExternalDataInTrainingInfo(original, "../../secrets.bin");
        var folder = PackWithModel(model);

        var e = Assert.Throws<PackageVerificationException>(() => PackageVerifier.Verify(folder, Trust, new PackageExpectation("cls", 1)));

        Assert.Equal(VerificationFailure.ExternalDataOutside, e.Failure);
        Assert.Contains("../../secrets.bin", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_OrtMemoryAddressMarker_RefusedEvenWhenAListedFileHasThatPath()
    {
        // ONNX Runtime reads "*/_ORT_MEM_ADDR_/*" as a memory address; a package listing a file of that name must not get it past the check.
        const string Marker = "*/_ORT_MEM_ADDR_/*";
        var folder = PackWithModel(OnnxWithExternalData(Marker));
        Directory.CreateDirectory(Path.Combine(folder, "*", "_ORT_MEM_ADDR_"));
        File.WriteAllBytes(Path.Combine(folder, "*", "_ORT_MEM_ADDR_", "*"), [1, 2, 3, 4]);
        TestPackages.EditManifest(folder, json =>
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(json)!;
            node["files"]!.AsArray().Add(new System.Text.Json.Nodes.JsonObject
            {
                ["path"] = Marker,
                ["sha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(new byte[] { 1, 2, 3, 4 })),
                ["size"] = 4,
            });
            return node.ToJsonString();
        }, _key);

        var e = Assert.Throws<PackageVerificationException>(() => PackageVerifier.Verify(folder, Trust, new PackageExpectation("cls", 1)));

        Assert.Equal(VerificationFailure.ExternalDataOutside, e.Failure);
        Assert.Contains("memory address", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FindLocations_FunctionAndTrainingGraphs_AreWalked()
    {
        var original = File.ReadAllBytes(ModelFixtures());

        Assert.Equal(["in-function.bin"], OnnxExternalData.FindLocations(OnnxFiles.WithExternalDataInFunction(original, "in-function.bin")));
        Assert.Equal(["in-training.bin"], OnnxExternalData.FindLocations(OnnxFiles.WithExternalDataInTrainingInfo(original, "in-training.bin")));
    }

    [Theory]
    [InlineData("inputs")]
    [InlineData("outputs")]
    [InlineData("golden")]
    [InlineData("providers")]
    [InlineData("golden[0].outputs")]
    [InlineData("inputs[0].shape")]
    [InlineData("golden[0].inputs[0].shape")]
    [InlineData("warmUp.shapes")]
    public void Verify_SignedManifestWithAnArrayMissingOrNull_RefusedAsInvalidManifest(string field)
    {
        var folder = TestPackages.Classifier(_temp.Sub("p"), "cls", 1, _key);
        TestPackages.EditManifest(folder, json =>
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
            var (parent, name) = field switch
            {
                "golden[0].outputs" => (node["golden"]![0]!.AsObject(), "outputs"),
                "inputs[0].shape" => (node["inputs"]![0]!.AsObject(), "shape"),
                "golden[0].inputs[0].shape" => (node["golden"]![0]!["inputs"]![0]!.AsObject(), "shape"),
                "warmUp.shapes" => (node["warmUp"]!.AsObject(), "shapes"),
                _ => (node, field),
            };

            // Records lose a left-out field to null; lists keep their default: null is what reaches the checks either way.
            parent[name] = null;
            return node.ToJsonString();
        }, _key);

        var e = Assert.Throws<PackageVerificationException>(() => PackageVerifier.Verify(folder, Trust, new PackageExpectation("cls", 1)));

        Assert.Equal(VerificationFailure.InvalidManifest, e.Failure);
    }

    [Fact]
    public void Verify_SignedManifestWithRecordFieldsLeftOut_RefusedAsInvalidManifest()
    {
        var folder = TestPackages.Classifier(_temp.Sub("p"), "cls", 1, _key);
        TestPackages.EditManifest(folder, json =>
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
            node["inputs"]![0]!.AsObject().Remove("shape");
            node["golden"]![0]!.AsObject().Remove("outputs");
            return node.ToJsonString();
        }, _key);

        var e = Assert.Throws<PackageVerificationException>(() => PackageVerifier.Verify(folder, Trust, new PackageExpectation("cls", 1)));

        Assert.Equal(VerificationFailure.InvalidManifest, e.Failure);
        Assert.Contains("has no shape", e.Message, StringComparison.Ordinal);
        Assert.Contains("'golden[0].outputs' must be a list", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FindLocations_ClassifierModel_HasNoExternalData()
    {
        Assert.Empty(OnnxExternalData.FindLocations(File.ReadAllBytes(EdgeMl.Testing.ModelFixtures.Classifier)));
        Assert.Equal(["../../secrets.bin"], OnnxExternalData.FindLocations(OnnxWithExternalData("../../secrets.bin")));
    }

    [Fact]
    public void Verify_ManifestNotTheListedOne_RefusedAsManifestHashMismatch()
    {
        var folder = TestPackages.Classifier(_temp.Sub("p"), "cls", 1, _key);

        var e = Assert.Throws<PackageVerificationException>(() =>
            PackageVerifier.Verify(folder, Trust, new PackageExpectation("cls", 1) { ManifestSha256 = new string('0', 64) }));

        Assert.Equal(VerificationFailure.ManifestHashMismatch, e.Failure);
    }

    private static string ModelFixtures() => EdgeMl.Testing.ModelFixtures.Classifier;

    /// <summary>A signed package of the classifier whose model file is replaced by <paramref name="model"/>.</summary>
    private string PackWithModel(byte[] model)
    {
        var folder = _temp.Sub("p");
        PackageBuilder.Pack(ModelFixtures(), folder, new PackageBuildOptions { Name = "cls", Version = 1 });
        File.WriteAllBytes(Path.Combine(folder, PackageBuilder.ModelFileName), model);
        TestPackages.EditManifest(folder, json => RehashModel(json, folder), _key);
        return folder;
    }

    private static string RehashModel(string json, string folder)
    {
        var bytes = File.ReadAllBytes(Path.Combine(folder, PackageBuilder.ModelFileName));
        var original = File.ReadAllBytes(EdgeMl.Testing.ModelFixtures.Classifier);
        return json
            .Replace(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(original)), Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), StringComparison.Ordinal)
            .Replace($"\"size\": {original.Length}", $"\"size\": {bytes.Length}", StringComparison.Ordinal);
    }

    internal static byte[] OnnxWithExternalData(string location) =>
        OnnxFiles.WithExternalData(File.ReadAllBytes(EdgeMl.Testing.ModelFixtures.Classifier), location);
}
