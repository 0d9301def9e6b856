using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using EdgeMl.Agent.Tests.EndToEnd;
using EdgeMl.CloudSync.Upload;
using EdgeMl.Runtime.Packages;
using EdgeMl.Testing;
using EdgeMl.Testing.Azurite;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.Capture;

/// <summary>
/// The whole capture path in the real <c>edgeml run</c> (on the x64 image's Native AOT build too, see
/// <see cref="TestCategory.Published"/>): predictions sampled into the SQLite store, uploaded to a real Azurite as
/// Parquet, and read back by an independent reader with the inputs each request sent.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
[Trait(TestCategory.Key, TestCategory.Published)]
public sealed class CaptureUploadProcessTests : IDisposable
{
    private const string Model = "ocr-cls";
    private const int Requests = 5;
    private const int Elements = 3 * 48 * 192;
    private readonly TestPackages.TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [AzuriteFact]
    public async Task Run_EveryPredictionCaptured_UploadedAsParquetToBlobWithTheRequestsInputs()
    {
        await using var azurite = await AzuriteServer.StartNewAsync();
        using var key = SigningKey.Create();
        var package = TestPackages.Classifier(_temp.Sub("pkg"), Model, 1, key);
        TestPackages.PublishToFolder(_temp.Sub("registry"), package, key, DateTimeOffset.UtcNow.AddDays(1));
        var trust = _temp.Sub("trust.pem");
        await File.WriteAllTextAsync(trust, key.ExportPublicKeyPem());
        await using var agent = AgentProcess.Start(
        [
            $"--EdgeMl:DataDirectory={_temp.Sub("data")}",
            $"--EdgeMl:TrustedKeyFiles:0={trust}",
            $"--EdgeMl:Mqtt:EmbeddedPort={AgentProcess.FreePort()}",
            $"--EdgeMl:Desired:registry={_temp.Sub("registry")}",
            $"--EdgeMl:Desired:models:{Model}:version=latest",
            $"--EdgeMl:Desired:models:{Model}:providers=cpu",
            $"--EdgeMl:Desired:models:{Model}:threads=1",
            "--EdgeMl:Capture:Defaults:SampleRate=1",
            $"--EdgeMl:Upload:ConnectionString={azurite.ConnectionString}",
            "--EdgeMl:Upload:Container=native-capture",
            "--EdgeMl:Upload:DeviceId=dev-native",
            "--EdgeMl:Upload:IdleInterval=00:00:00.200",
        ]);
        await agent.WaitUntilLiveAsync();
        await agent.WaitUntilAsync(async () => (await agent.Http.GetAsync($"/v2/models/{Model}/ready")).IsSuccessStatusCode, "the model ready");

        for (var request = 0; request < Requests; request++)
        {
            var data = new JsonArray();
            data.Add(request);
            for (var i = 1; i < Elements; i++)
            {
                data.Add(0.5);
            }

            var body = new JsonObject { ["inputs"] = new JsonArray(new JsonObject { ["name"] = "x", ["datatype"] = "FP32", ["shape"] = new JsonArray(1, 3, 48, 192), ["data"] = data }) };
            using var response = await agent.Http.PostAsJsonAsync($"/v2/models/{Model}/infer", body);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        var container = new BlobContainerClient(azurite.ConnectionString, "native-capture");
        IList<CaptureParquetRow> rows = [];
        await agent.WaitUntilAsync(async () =>
        {
            // The uploader creates the container with its first batch.
            if (!await container.ExistsAsync())
            {
                return false;
            }

            rows = [.. (await CaptureAzuriteTests.Blobs(container)).Values.SelectMany(r => r)];
            return rows.Count >= Requests;
        }, $"{Requests} captured records in Blob storage");

        Assert.Equal(Requests, rows.Count);
        Assert.All(rows, r =>
        {
            Assert.Equal(("dev-native", Model, 1L), (r.DeviceId, r.Model, r.ModelVersion));
            var input = Assert.Single(r.Inputs);
            Assert.Equal(("x", "FP32"), (input.Name, input.Datatype));
            Assert.Equal([1, 3, 48, 192], input.Shape);
            Assert.Equal(Elements * sizeof(float), input.Data!.Length);
            Assert.Equal(0.5f, BitConverter.ToSingle(input.Data, 4));
            Assert.Equal(2 * sizeof(float), Assert.Single(r.Outputs).Data!.Length);
        });
        Assert.Equal(Enumerable.Range(0, Requests), rows.Select(r => (int)BitConverter.ToSingle(r.Inputs[0].Data!, 0)).Order());
    }
}
