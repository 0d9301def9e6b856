using Microsoft.Extensions.Options;

namespace EdgeMl.CloudSync.Registries;

/// <summary>An <c>http(s)://</c> URL is a static layout on a web server or CDN, read with the shared <see cref="RegistryHttpClient"/>.</summary>
internal sealed class HttpRegistryKind(IOptions<DownloadOptions> limits, TimeProvider time, RegistryHttpClient http) : IRegistryKind
{
    public string Name => "http";

    public string Takes => "an http(s):// URL of a static layout";

    public RegistryClaim Claim(string target) =>
        Uri.TryCreate(target, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? RegistryClaim.Generic
            : RegistryClaim.None;

    public IModelRegistry Open(string target) => new HttpRegistry(new Uri(target), http.Client, limits.Value, time);
}

/// <summary>
/// The one <see cref="HttpClient"/> that HTTP registries share, with pooled connections renewed every five minutes (so a
/// moved CDN name is looked up again) and no overall timeout: stalls are cut by the downloader's rate watchdog, not by
/// a fixed timeout that would cut big files. Register another instance to send registry traffic through other handlers.
/// </summary>
public sealed class RegistryHttpClient : IDisposable
{
    public RegistryHttpClient()
        : this(new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(30),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        })
    {
    }

    /// <summary>Registry traffic through <paramref name="client"/>, which this instance then owns.</summary>
    public RegistryHttpClient(HttpClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        Client = client;
    }

    public HttpClient Client { get; }

    public void Dispose() => Client.Dispose();
}
