using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;

namespace EdgeMl.CloudSync.Registries;

/// <summary>
/// An Azure Blob container: <c>blob:URL</c> or a URL on <c>*.blob.core.windows.net</c> (with a SAS when needed), or a
/// connection string (<c>AccountName=…</c>, <c>BlobEndpoint=…</c> or <c>UseDevelopmentStorage=true</c>) that names its
/// container with <c>Container=NAME</c>.
/// </summary>
internal sealed class BlobRegistryKind(IOptions<DownloadOptions> limits, TimeProvider time) : IRegistryKind
{
    private const string Prefix = "blob:";
    private const string ContainerKey = "Container=";

    public string Name => "blob";

    public string Takes => "blob:URL, a *.blob.core.windows.net container URL, or a blob connection string with Container=NAME";

    public RegistryClaim Claim(string target) =>
        target.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) || IsConnectionString(target)
        || (Uri.TryCreate(target, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            && uri.Host.EndsWith(".blob.core.windows.net", StringComparison.OrdinalIgnoreCase))
            ? RegistryClaim.Specific
            : RegistryClaim.None;

    public IModelRegistry Open(string target)
    {
        if (target.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return Registry(new BlobContainerClient(new Uri(target[Prefix.Length..])));
        }

        if (!IsConnectionString(target))
        {
            return Registry(new BlobContainerClient(new Uri(target)));
        }

        var parts = target.Split(';', StringSplitOptions.RemoveEmptyEntries);
        var container = parts.FirstOrDefault(p => p.StartsWith(ContainerKey, StringComparison.OrdinalIgnoreCase))?[ContainerKey.Length..]
            ?? throw new ArgumentException("a blob connection string needs 'Container=NAME' to name the registry container", nameof(target));
        var connection = string.Join(';', parts.Where(p => !p.StartsWith(ContainerKey, StringComparison.OrdinalIgnoreCase)));
        return Registry(new BlobContainerClient(connection, container));
    }

    private static bool IsConnectionString(string target) =>
        target.Contains("AccountName=", StringComparison.OrdinalIgnoreCase) || target.Contains("BlobEndpoint=", StringComparison.OrdinalIgnoreCase)
        || target.Contains("UseDevelopmentStorage=", StringComparison.OrdinalIgnoreCase);

    private BlobRegistry Registry(BlobContainerClient container) => new(container, limits.Value, time);
}
