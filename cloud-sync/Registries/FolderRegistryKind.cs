using Microsoft.Extensions.Options;

namespace EdgeMl.CloudSync.Registries;

/// <summary>A path (or a <c>file:</c> URL) is a folder: whatever no other kind claims and is not a URL of another scheme.</summary>
internal sealed class FolderRegistryKind(IOptions<DownloadOptions> limits, TimeProvider time) : IRegistryKind
{
    public string Name => "folder";

    public string Takes => "a folder path";

    public RegistryClaim Claim(string target) =>
        !Uri.TryCreate(target, UriKind.Absolute, out var uri) || uri.IsFile ? RegistryClaim.Fallback : RegistryClaim.None;

    public IModelRegistry Open(string target) =>
        new FolderRegistry(Uri.TryCreate(target, UriKind.Absolute, out var uri) && uri.IsFile ? uri.LocalPath : target, limits.Value, time);
}
