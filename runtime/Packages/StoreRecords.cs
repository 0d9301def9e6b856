using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeMl.Runtime.Packages;

/// <summary><c>models/{name}/active.json</c>: the version serving, and the good versions before it, newest first.</summary>
public sealed record ActiveRecord(long Version, IReadOnlyList<long> History, DateTimeOffset Activated)
{
    [JsonIgnore]
    public long? Previous => History.Count > 0 ? History[0] : null;
}

/// <summary><c>models/{name}/rejected.json</c>: the last candidate the runtime refused, kept for reporting.</summary>
public sealed record RejectionRecord(long Version, string Stage, string Reason, DateTimeOffset At);

/// <summary><c>models/{name}/accepted.json</c>: the highest version ever accepted, the floor against rollback attacks.</summary>
public sealed record AcceptedRecord(long Highest, DateTimeOffset At);

/// <summary><c>models/{name}/versions-seen.json</c>: the sequence of the newest signed version list accepted, the floor against freeze attacks.</summary>
public sealed record SeenListRecord(long Sequence, DateTimeOffset Expires, DateTimeOffset At);

/// <summary>The runtime's verdict on a candidate: load, warm-up and golden check all passed, or which stage failed and why.</summary>
public sealed record PackageValidation(bool Accepted, string? Stage, string? Reason)
{
    public static PackageValidation Accept { get; } = new(true, null, null);

    public static PackageValidation Reject(string stage, string reason) => new(false, stage, reason);
}

/// <summary>
/// Decides whether a verified candidate may become active; the runtime's load, warm-up and golden check.
/// The store marks nothing active before this accepts.
/// </summary>
public interface IPackageValidator
{
    Task<PackageValidation> ValidateAsync(ModelPackage candidate, CancellationToken cancellationToken);
}

/// <summary>The outcome of an activation: the version now active and, when the candidate was refused, why.</summary>
public sealed record ActivationOutcome(long? ActiveVersion, long Candidate, PackageValidation Validation)
{
    public bool Activated => Validation.Accepted;
}

/// <summary>The disk cannot hold what is about to be written; nothing was changed.</summary>
public sealed class InsufficientSpaceException(string message) : IOException(message);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(ActiveRecord))]
[JsonSerializable(typeof(RejectionRecord))]
[JsonSerializable(typeof(AcceptedRecord))]
[JsonSerializable(typeof(SeenListRecord))]
internal sealed partial class StoreJsonContext : JsonSerializerContext
{
    public static T? Read<T>(string path, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllBytes(path), info) : default;
        }
        catch (JsonException e)
        {
            // Records are replaced atomically, so a malformed one was written by something else: say so, never guess.
            throw new InvalidDataException($"{path} is not a valid store record: {e.Message}", e);
        }
    }
}
