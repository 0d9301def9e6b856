using EdgeMl.CloudSync.Registries;
using EdgeMl.Runtime.Packages;

namespace EdgeMl.Agent.Cli;

/// <summary>Exit codes of the model verbs, one per kind of expected failure, so scripts can tell them apart.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int CandidateRefused = 1;
    public const int Usage = 2;
    public const int Verification = 3;
    public const int Transfer = 4;
    public const int DiskFull = 5;
    public const int StartFailed = 6;

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
