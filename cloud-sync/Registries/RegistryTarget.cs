using Azure.Storage.Blobs;

namespace EdgeMl.CloudSync.Registries;

/// <summary>Turns what an operator types (a folder, an http(s) URL, a blob container URL or connection string) into a registry.</summary>
public static class RegistryTarget
{
    /// <summary>
    /// <c>blob:URL</c> or a URL on <c>*.blob.core.windows.net</c> is a container URL (with a SAS when needed);
    /// a connection string (<c>AccountName=…</c>, <c>BlobEndpoint=…</c> or <c>UseDevelopmentStorage=true</c>)
    /// names its container with <c>Container=NAME</c>; other <c>http(s)://</c> URLs are a static layout; anything
    /// else is a folder. Every read of a small document is capped and cut when it stalls below
    /// <paramref name="limits"/>' rate (the defaults of <see cref="DownloadOptions"/> when null).
    /// </summary>
    public static IModelRegistry Create(string target, DownloadOptions? limits = null, TimeProvider? time = null, HttpClient? http = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(target);
        limits ??= new DownloadOptions();
        time ??= TimeProvider.System;
        if (target.StartsWith("blob:", StringComparison.OrdinalIgnoreCase))
        {
            return new BlobRegistry(new BlobContainerClient(new Uri(target["blob:".Length..])), limits, time);
        }

        if (target.Contains("AccountName=", StringComparison.OrdinalIgnoreCase) || target.Contains("BlobEndpoint=", StringComparison.OrdinalIgnoreCase)
            || target.Contains("UseDevelopmentStorage=", StringComparison.OrdinalIgnoreCase))
        {
            var parts = target.Split(';', StringSplitOptions.RemoveEmptyEntries);
            var container = parts.FirstOrDefault(p => p.StartsWith("Container=", StringComparison.OrdinalIgnoreCase))?["Container=".Length..]
                ?? throw new ArgumentException("a blob connection string needs 'Container=NAME' to name the registry container", nameof(target));
            var connection = string.Join(';', parts.Where(p => !p.StartsWith("Container=", StringComparison.OrdinalIgnoreCase)));
            return new BlobRegistry(new BlobContainerClient(connection, container), limits, time);
        }

        if (Uri.TryCreate(target, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return uri.Host.EndsWith(".blob.core.windows.net", StringComparison.OrdinalIgnoreCase)
                ? new BlobRegistry(new BlobContainerClient(uri), limits, time)
                : new HttpRegistry(uri, http ?? SharedHttp.Value, limits, time);
        }

        return new FolderRegistry(target, limits, time);
    }

    private static readonly Lazy<HttpClient> SharedHttp = new(() => new HttpClient(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(30),
    })
    {
        // Stalls are caught by the downloader's rate watchdog, not by a fixed timeout that would cut big files.
        Timeout = Timeout.InfiniteTimeSpan,
    });
}
