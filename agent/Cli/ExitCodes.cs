using EdgeMl.CloudSync.Registries;
using EdgeMl.Runtime.Packages;

namespace EdgeMl.Agent.Cli;

/// <summary>Exit codes of the verbs, one per kind of expected failure, so scripts can tell them apart.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int CandidateRefused = 1;
    public const int Usage = 2;
    public const int Verification = 3;
    public const int Transfer = 4;
    public const int DiskFull = 5;
    public const int StartFailed = 6;

    /// <summary>No agent answered at the local API's address.</summary>
    public const int AgentUnreachable = 6;

    /// <summary>The agent wants a bearer token, or refused the one given.</summary>
    public const int Unauthorized = 7;

    /// <summary>The agent does not know the model, version or endpoint.</summary>
    public const int NotFound = 8;

    /// <summary>The agent answered with another error (its <c>{"error": …}</c> message is printed).</summary>
    public const int AgentError = 9;

    /// <summary><c>model rollback</c>: no earlier good version is installed (or none at all).</summary>
    public const int NothingToRollBack = 10;

    /// <summary>The data read is damaged (a capture store that fails its integrity check); it was left as it is.</summary>
    public const int Damaged = 11;

    /// <summary>Ctrl+C or SIGTERM stopped a verb that was waiting (128 + SIGINT); a verb that computes is ended by the signal itself (143 for SIGTERM).</summary>
    public const int Stopped = 130;

    public const string StoppedMessage = "stopped by Ctrl+C or SIGTERM before it finished; nothing half-written was put in place, and a pull resumes where it stopped";

    public static int? For(Exception e) => e switch
    {
        PackageVerificationException or ModelManifestException => Verification,
        DownloadException or RegistryException => Transfer,
        InsufficientSpaceException => DiskFull,
        ArgumentException or FormatException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException => Usage,
        IOException => Transfer,
        _ => null,
    };
}
