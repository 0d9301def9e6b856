using EdgeMl.CaptureHarness;
using EdgeMl.Testing;
using EdgeMl.Testing.Azurite;
using Xunit.Abstractions;

namespace EdgeMl.Agent.Tests.Capture;

/// <summary>
/// SIGKILL during capture and during an upload's acknowledgement, many times over (EDGEML_KILL_ITERATIONS):
/// the database passes integrity_check every time, no committed record is lost, none is stored or uploaded twice.
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class CaptureKillTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan LineTimeout = TimeSpan.FromSeconds(60);
    private readonly CaptureTestKit _kit = new();

    [Fact]
    public async Task Capture_KilledRepeatedly_IntegrityKeptAndNoCommittedRecordLost()
    {
        var iterations = HarnessProcess.Iterations(20);
        var random = new Random(6);
        var committed = -1;
        for (var i = 0; i < iterations; i++)
        {
            using (var child = HarnessProcess.Start("capture", _kit.Options.Path, "64"))
            {
                Assert.StartsWith("opened", await child.ReadLineAsync(LineTimeout));
                var commits = random.Next(1, 6);
                for (var c = 0; c < commits; c++)
                {
                    var line = await child.ReadLineAsync(LineTimeout);
                    Assert.NotNull(line);
                    Assert.StartsWith("committed ", line);
                    committed = int.Parse(line["committed ".Length..], System.Globalization.CultureInfo.InvariantCulture);
                }

                // Mid-transaction most of the time: the child goes straight on to the next batch.
                Thread.SpinWait(random.Next(0, 200_000));
                child.Kill();
            }

            var store = _kit.Open();
            Assert.Null(store.Startup.MovedAsideTo);
            Assert.Equal("ok", store.CheckIntegrity());
            var sequences = All(store);
            Assert.Equal(sequences.Count, sequences.Distinct().Count());
            Assert.True(sequences.Count > committed, $"iteration {i}: {sequences.Count} records, {committed} reported committed");
            Assert.Equal(Enumerable.Range(0, sequences.Count), sequences);
            store.Dispose();
        }

        output.WriteLine($"{iterations} kills during capture; {committed + 1} records reported committed, none lost or duplicated");
    }

    [AzuriteFact]
    public async Task Upload_KilledDuringAcknowledgement_NoRecordLostOrDuplicatedInBlobStorage()
    {
        var iterations = HarnessProcess.Iterations(20);
        await using var azurite = await AzuriteServer.StartNewAsync();
        // Several batches per kill: under load the child may finish a batch or two before the kill lands.
        var records = ((iterations * 5) + 2) * 10;
        var seed = _kit.Open();
        seed.Append(Enumerable.Range(0, records).Select(Harness.Record).ToArray());
        seed.Dispose();

        var random = new Random(6);
        var kills = 0;
        var done = false;
        while (!done)
        {
            using var child = HarnessProcess.Start("upload", _kit.Options.Path, azurite.ConnectionString, "kill");
            string? line;
            while ((line = await child.ReadLineAsync(LineTimeout)) is not null)
            {
                Assert.DoesNotContain("failed", line, StringComparison.Ordinal);
                if (line == "done")
                {
                    done = true;
                    break;
                }

                if (kills < iterations && line.StartsWith("ack ", StringComparison.Ordinal))
                {
                    Thread.SpinWait(random.Next(0, 50_000));
                    child.Kill();
                    kills++;
                    break;
                }
            }

            var store = _kit.Open();
            Assert.Null(store.Startup.MovedAsideTo);
            Assert.Equal("ok", store.CheckIntegrity());
            store.Dispose();
            Assert.True(done || line is not null, "the harness ended without finishing");
        }

        var blobs = await CaptureAzuriteTests.Blobs(new Azure.Storage.Blobs.BlobContainerClient(azurite.ConnectionString, "kill"));
        var uploaded = blobs.Values.SelectMany(rows => rows).Select(r => (int)BitConverter.ToSingle(r.Inputs[0].Data!, 0)).ToList();
        Assert.Equal(iterations, kills);
        Assert.Equal(uploaded.Count, uploaded.Distinct().Count());
        Assert.Equal(Enumerable.Range(0, records), uploaded.Order());
        Assert.Equal(0, _kit.Open().RecordCount);
        output.WriteLine($"{kills} kills during upload acknowledgement; {records} records in {blobs.Count} blobs, none lost or duplicated");
    }

    public void Dispose() => _kit.Dispose();

    private static List<int> All(EdgeMl.Agent.Capture.CaptureStore store)
    {
        var result = new List<int>();
        long after = 0;
        while (store.Read(null, after, 10_000) is { Count: > 0 } page)
        {
            result.AddRange(page.Select(Harness.SequenceOf));
            after = page[^1].Id;
        }

        return result;
    }
}
