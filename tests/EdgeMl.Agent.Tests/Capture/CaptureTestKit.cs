using EdgeMl.Agent.Capture;
using EdgeMl.Runtime.Tensors;
using EdgeMl.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EdgeMl.Agent.Tests.Capture;

/// <summary>A capture store in a temporary folder, with its metrics and a fake clock.</summary>
internal sealed class CaptureTestKit : IDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);

    private readonly TestMeterFactory _meters = new();

    public CaptureTestKit(string? folder = null)
    {
        Folder = folder ?? Directory.CreateTempSubdirectory("edgeml-capture-").FullName;
        Options = new CaptureStoreOptions { Path = Path.Combine(Folder, "capture.db") };
        Metrics = new CaptureMetrics(_meters);
    }

    public string Folder { get; }

    public CaptureStoreOptions Options { get; }

    public CaptureMetrics Metrics { get; private set; }

    public FakeTimeProvider Time { get; } = new(Start);

    public CaptureStore? Store { get; private set; }

    public CaptureStore Open()
    {
        Store?.Dispose();
        Store = CaptureStore.Open(Options, Metrics, Time, NullLogger.Instance);
        return Store;
    }

    public CaptureStore Reopen()
    {
        Metrics = new CaptureMetrics(_meters);
        return Open();
    }

    /// <summary>A small record: a 4-float input and a 2-float output, tagged with <paramref name="seq"/>.</summary>
    public CaptureRecord Record(int seq, string model = "m", long version = 1, int inputFloats = 4) => new()
    {
        Model = model,
        Version = version,
        Timestamp = Time.GetUtcNow(),
        LatencyMilliseconds = 1.5,
        Provider = "cpu",
        Inputs = [CaptureRecord.Copy(InferenceTensor.Create("x", [1, inputFloats], Enumerable.Range(0, inputFloats).Select(i => (float)(seq + i)).ToArray()))],
        Outputs = [CaptureRecord.Copy(InferenceTensor.Create("p", [1, 2], new float[] { seq, 0.5f }))],
    };

    /// <summary>The sequence number a record was made with (its first input element).</summary>
    public static int SequenceOf(EdgeMl.CloudSync.Upload.UploadRecord record) =>
        (int)BitConverter.ToSingle(record.Inputs[0].Data!, 0);

    public void Dispose()
    {
        Store?.Dispose();
        _meters.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
