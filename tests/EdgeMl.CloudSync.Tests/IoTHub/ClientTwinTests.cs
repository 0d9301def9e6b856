using System.Text;
using System.Text.Json.Nodes;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.IoTHubSimulator;
using EdgeMl.Testing;
using Xunit.Abstractions;
using Sim = EdgeMl.IoTHubSimulator.IoTHubSimulator;

namespace EdgeMl.CloudSync.Tests.IoTHub;

[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class ClientTwinTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly Sim _sim = new(new IoTHubSimulatorOptions { IncludeMetadataInTwinGet = true });
    private SimulatedIdentity _device = null!;
    private IoTHubTestHarness _h = null!;

    public async Task InitializeAsync()
    {
        await _sim.StartAsync();
        _device = _sim.AddDevice("dev1");
        await _sim.UpdateDesiredAsync(_device, new JsonObject { ["threshold"] = 0.8 });
        _h = IoTHubTestHarness.Create(_sim, _sim.ConnectionString(_device), output);
        await _h.StartAsync();
        await _h.WaitForConnectedAsync();
        await _h.NextDesiredAsync();
    }

    public async Task DisposeAsync()
    {
        await _h.DisposeAsync();
        await _sim.DisposeAsync();
    }

    [Fact]
    public async Task GetTwin_WithMetadata_ReturnsSectionsAndVersions()
    {
        _device.Twin.PatchReported(new JsonObject { ["fps"] = 9 }, DateTimeOffset.UtcNow);

        var result = await _h.Client.GetTwinAsync(CancellationToken.None);

        Assert.True(result.Succeeded, result.Message);
        Assert.Equal(200, result.Status);
        Assert.Equal(2, result.Twin!.DesiredVersion);
        Assert.Equal(2, result.Twin.ReportedVersion);
        Assert.Equal(9, result.Twin.Reported["fps"]!.GetValue<int>());
        Assert.NotNull(result.Twin.Desired["$metadata"]);
    }

    [Fact]
    public async Task UpdateReported_IoTHub_Answers204WithNewVersionAndNullDeletes()
    {
        var first = await _h.Client.UpdateReportedPropertiesAsync(new JsonObject { ["fps"] = 10, ["model"] = "v1" }, CancellationToken.None);
        var second = await _h.Client.UpdateReportedPropertiesAsync(new JsonObject { ["model"] = null }, CancellationToken.None);

        Assert.True(first.Succeeded, first.Message);
        Assert.Equal(204, first.Status);
        Assert.Equal(2, first.Version);
        Assert.Equal(3, second.Version);
        Assert.Equal(10, _device.Twin.Reported["fps"]!.GetValue<int>());
        Assert.False(_device.Twin.Reported.ContainsKey("model"));
    }

    [Fact]
    public async Task UpdateReported_EdgeHubAnswers204WithoutVersion_Succeeds()
    {
        _sim.EdgeHubMode = true;

        var result = await _h.Client.UpdateReportedPropertiesAsync(new JsonObject { ["fps"] = 10 }, CancellationToken.None);

        Assert.True(result.Succeeded, result.Message);
        Assert.Equal(204, result.Status);
        Assert.Null(result.Version);
    }

    [Fact]
    public async Task UpdateReported_Over32KB_RefusedLocallyWithClearError()
    {
        var patch = new JsonObject();
        for (var i = 0; i < 9; i++)
        {
            patch[$"chunk{i}"] = new string('x', 4000);
        }

        var before = _sim.TwinRequests;
        var result = await _h.Client.UpdateReportedPropertiesAsync(patch, CancellationToken.None);

        Assert.Equal(IoTHubError.TooLarge, result.Error);
        Assert.Contains("32768", result.Message, StringComparison.Ordinal);
        Assert.Equal(before, _sim.TwinRequests);
    }

    [Fact]
    public async Task GetTwin_ErrorBody_RejectedWithStatusAndErrorCode()
    {
        _sim.TwinBehavior = TwinRequestBehavior.ServerError;

        var result = await _h.Client.GetTwinAsync(CancellationToken.None);
        var patch = await _h.Client.UpdateReportedPropertiesAsync(new JsonObject { ["a"] = 1 }, CancellationToken.None);

        Assert.Equal(IoTHubError.Rejected, result.Error);
        Assert.Equal(500, result.Status);
        Assert.Contains("500001", result.Message, StringComparison.Ordinal);
        Assert.Equal(IoTHubError.Rejected, patch.Error);
        Assert.Equal(IoTHubConnectionState.Connected, _h.Client.State);
    }

    [Fact]
    public async Task GetTwin_NoAnswer_TimesOutOnTheClockWithClearError()
    {
        _sim.TwinBehavior = TwinRequestBehavior.Ignore;
        var before = _sim.TwinRequests;

        var pending = _h.Client.GetTwinAsync(CancellationToken.None);
        await _sim.WaitForAsync(() => _sim.TwinRequests > before, IoTHubTestHarness.Guard, "the twin request");
        Assert.False(pending.IsCompleted);
        _h.Time.Advance(TimeSpan.FromSeconds(30));
        var result = await pending.WaitAsync(IoTHubTestHarness.Guard);

        Assert.Equal(IoTHubError.Timeout, result.Error);
        Assert.Contains("did not answer", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetTwin_SimulatorDisappearsMidRequest_FailsWithConnectionLostWithoutHanging()
    {
        _sim.TwinBehavior = TwinRequestBehavior.Ignore;
        var before = _sim.TwinRequests;

        var pending = _h.Client.GetTwinAsync(CancellationToken.None);
        await _sim.WaitForAsync(() => _sim.TwinRequests > before, IoTHubTestHarness.Guard, "the twin request");
        await _sim.StopAsync();
        var result = await pending.WaitAsync(IoTHubTestHarness.Guard);

        Assert.Equal(IoTHubError.ConnectionLost, result.Error);
        Assert.Contains("lost", result.Message, StringComparison.Ordinal);
        var after = await _h.Client.GetTwinAsync(CancellationToken.None);
        Assert.Equal(IoTHubError.NotConnected, after.Error);
    }

    [Fact]
    public async Task DesiredStream_SeveralPatches_DeliveredInVersionOrder()
    {
        var v1 = await _sim.UpdateDesiredAsync(_device, new JsonObject { ["a"] = 1 });
        var v2 = await _sim.UpdateDesiredAsync(_device, new JsonObject { ["a"] = 2 });
        var v3 = await _sim.UpdateDesiredAsync(_device, new JsonObject { ["b"] = new JsonObject { ["c"] = true } });

        var updates = new[] { await _h.NextDesiredAsync(), await _h.NextDesiredAsync(), await _h.NextDesiredAsync() };

        Assert.Equal([v1, v2, v3], updates.Select(u => u.Version));
        Assert.All(updates, u => Assert.False(u.IsFullDocument));
        Assert.Equal(2, updates[1].Properties["a"]!.GetValue<int>());
    }

    [Fact]
    public async Task DesiredStream_PatchNotJson_ReportsAndRefetchesSoTheChangeIsNotLost()
    {
        var version = _device.Twin.PatchDesired(new JsonObject { ["threshold"] = 0.5 }, DateTimeOffset.UtcNow);

        await _sim.PushRawDesiredAsync(_device, version, Encoding.UTF8.GetBytes("{\"threshold\": 0.5,"));
        var update = await _h.NextDesiredAsync();

        Assert.True(update.IsFullDocument);
        Assert.Equal(version, update.Version);
        Assert.Equal(0.5, update.Properties["threshold"]!.GetValue<double>());
        Assert.Equal(IoTHubConnectionState.Connected, _h.Client.State);
    }

    /// <summary>
    /// Found by the desired fuzz harness: a name that is not UTF-8, or a name given twice, parsed, then threw where
    /// the agent read the patch, and the whole update was not applied.
    /// </summary>
    [Theory]
    [InlineData("name not UTF-8")]
    [InlineData("name given twice")]
    [InlineData("lone surrogate in a name")]
    public async Task DesiredStream_PatchWithANameNotUtf8OrGivenTwice_RefetchesFullDocument(string flaw)
    {
        var version = _device.Twin.PatchDesired(new JsonObject { ["threshold"] = 0.5 }, DateTimeOffset.UtcNow);
        byte[] patch = flaw switch
        {
            "name given twice" => [.. "{\"threshold\":0.5,\"threshold\":0.6}"u8],
            "lone surrogate in a name" => [.. "{\"threshold\":0.5,\"\\ud800\":1}"u8],
            _ => [.. "{\"threshold\":0.5,\""u8, 0xFF, .. "\":1}"u8],
        };

        await _sim.PushRawDesiredAsync(_device, version, patch);
        var update = await _h.NextDesiredAsync();

        Assert.True(update.IsFullDocument);
        Assert.Equal(version, update.Version);
        Assert.Equal(0.5, update.Properties["threshold"]!.GetValue<double>());
        Assert.Equal(IoTHubConnectionState.Connected, _h.Client.State);
    }

    [Fact]
    public async Task DesiredStream_VersionGap_RefetchesFullDocument()
    {
        _device.Twin.PatchDesired(new JsonObject { ["missed"] = 1 }, DateTimeOffset.UtcNow);
        var version = _device.Twin.PatchDesired(new JsonObject { ["seen"] = 2 }, DateTimeOffset.UtcNow);

        await _sim.PushRawDesiredAsync(_device, version, Encoding.UTF8.GetBytes($"{{\"seen\":2,\"$version\":{version}}}"));
        var update = await _h.NextDesiredAsync();

        Assert.True(update.IsFullDocument);
        Assert.Equal(1, update.Properties["missed"]!.GetValue<int>());
    }

    [Fact]
    public async Task DesiredStream_StalePatch_Ignored()
    {
        await _sim.PushRawDesiredAsync(_device, 1, Encoding.UTF8.GetBytes("{\"old\":true,\"$version\":1}"));
        var version = await _sim.UpdateDesiredAsync(_device, new JsonObject { ["new"] = true });

        var update = await _h.NextDesiredAsync();

        Assert.Equal(version, update.Version);
        Assert.True(update.Properties.ContainsKey("new"));
    }

    [Fact]
    public async Task GetTwin_BodyNotJson_InvalidResponseAndConnectionKept()
    {
        _sim.TwinBehavior = TwinRequestBehavior.MalformedBody;

        var result = await _h.Client.GetTwinAsync(CancellationToken.None);

        Assert.Equal(IoTHubError.InvalidResponse, result.Error);
        Assert.Contains("not valid JSON", result.Message, StringComparison.Ordinal);
        Assert.Equal(IoTHubConnectionState.Connected, _h.Client.State);
    }

    [Fact]
    public async Task GetTwin_CallerCancels_ThrowsOperationCanceled()
    {
        _sim.TwinBehavior = TwinRequestBehavior.Ignore;
        using var cts = new CancellationTokenSource();

        var pending = _h.Client.GetTwinAsync(cts.Token);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(IoTHubTestHarness.Guard));
    }

    [Fact]
    public async Task UpdateReported_KeyWithDot_SimulatorRejectsWith400AndErrorCode()
    {
        var result = await _h.Client.UpdateReportedPropertiesAsync(new JsonObject { ["model.version"] = 2 }, CancellationToken.None);

        Assert.Equal(IoTHubError.Rejected, result.Error);
        Assert.Equal(400, result.Status);
        Assert.Contains("400005", result.Message, StringComparison.Ordinal);
        Assert.Equal(IoTHubConnectionState.Connected, _h.Client.State);
    }

    [Fact]
    public async Task UpdateReported_PlugAndPlayAck_StoredInReportedShape()
    {
        var update = await _sim.UpdateDesiredAsync(_device, new JsonObject { ["threshold"] = 0.7 });

        var result = await _h.Client.UpdateReportedPropertiesAsync(
            WritablePropertyResponse.Patch("threshold", JsonValue.Create(0.7), 200, update, "applied"), CancellationToken.None);

        Assert.True(result.Succeeded, result.Message);
        var ack = _device.Twin.Reported["threshold"]!;
        Assert.Equal(0.7, ack["value"]!.GetValue<double>());
        Assert.Equal(200, ack["ac"]!.GetValue<int>());
        Assert.Equal(update, ack["av"]!.GetValue<long>());
        Assert.Equal("applied", ack["ad"]!.GetValue<string>());
    }
}
