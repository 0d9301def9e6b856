using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeMl.Runtime.Packages;

namespace EdgeMl.Agent.Probation;

/// <summary>
/// <c>models/{name}/probation.json</c>: the versions that passed probation (newest last), and the version on
/// probation with the good version it is compared with. Replaced atomically, so a kill leaves the old or the new record.
/// </summary>
internal sealed record ProbationRecord(IReadOnlyList<long> Good, long? OnProbation, long? Previous)
{
    public static ProbationRecord Empty { get; } = new([], null, null);
}

/// <summary>Reads and writes each model's <see cref="ProbationRecord"/> beside its versions in the model store.</summary>
internal sealed class GoodVersions(ModelStore store)
{
    private const string FileName = "probation.json";

    public ProbationRecord Read(string model)
    {
        var path = PathOf(model);
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllBytes(path), ProbationJsonContext.Default.ProbationRecord) ?? ProbationRecord.Empty : ProbationRecord.Empty;
        }
        catch (JsonException e)
        {
            // Written atomically by this class only: a malformed file was put there by something else; say so, never guess.
            throw new InvalidDataException($"{path} is not a valid probation record: {e.Message}", e);
        }
    }

    public void Write(string model, ProbationRecord record) =>
        Durable.WriteAllBytes(PathOf(model), JsonSerializer.SerializeToUtf8Bytes(record, ProbationJsonContext.Default.ProbationRecord));

    /// <summary>Records <paramref name="version"/> as good and ends its probation.</summary>
    public ProbationRecord MarkGood(string model, long version)
    {
        var record = Read(model);
        var updated = new ProbationRecord([.. record.Good.Where(v => v != version), version], null, null);
        Write(model, updated);
        return updated;
    }

    /// <summary>The newest good version still on disk other than <paramref name="except"/>.</summary>
    public long? LatestGood(string model, long except)
    {
        var installed = store.GetInstalledVersions(model);
        return Read(model).Good.Reverse().Where(v => v != except && installed.Contains(v)).Select(v => (long?)v).FirstOrDefault();
    }

    private string PathOf(string model) => Path.Combine(store.ModelFolder(model), FileName);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(ProbationRecord))]
internal sealed partial class ProbationJsonContext : JsonSerializerContext;
