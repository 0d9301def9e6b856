using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using EdgeMl.CloudSync.Secrets;

namespace EdgeMl.CloudSync.Registries;

/// <summary>
/// A registry on any static web server or CDN. Small documents are fetched with <c>If-None-Match</c> against
/// the last ETag seen (a 304 reuses the cached bytes); files resume with <c>Range</c> (guarded by
/// <c>If-Range</c> when the ETag is known). Documents are capped while they arrive and a server that trickles
/// them is cut by the stall watchdog. Publishing uses PUT, for servers that accept it.
/// </summary>
internal sealed class HttpRegistry : IModelRegistry
{
    private readonly HttpClient _http;
    private readonly Uri _base;
    private readonly DownloadOptions _limits;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, (EntityTagHeaderValue ETag, byte[] Body)> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, EntityTagHeaderValue> _fileTags = new(StringComparer.Ordinal);

    public HttpRegistry(Uri baseUri, HttpClient http, DownloadOptions limits, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(baseUri);
        _http = http;
        _limits = limits;
        _time = time;
        _base = baseUri.AbsoluteUri.EndsWith('/') ? baseUri : new Uri(baseUri.AbsoluteUri + "/");
    }

    /// <summary>The base address without its query, and without user-info (which may be a password or a token).</summary>
    public string Description => SecretRedactor.RedactValue(_base.GetLeftPart(UriPartial.Path));

    public Task<byte[]?> TryReadAsync(string path, long maxBytes, CancellationToken cancellationToken) =>
        BoundedRead.WatchAsync(_limits, _time, $"{path} at {Description}", async watchdog =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, Url(path));
            var cached = _cache.TryGetValue(path, out var c) ? c : default;
            if (cached.ETag is not null)
            {
                request.Headers.IfNoneMatch.Add(cached.ETag);
            }

            using var response = await SendAsync(request, path, watchdog.Token).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }

            if (response.StatusCode == HttpStatusCode.NotModified && cached.Body is not null)
            {
                return cached.Body;
            }

            EnsureSuccess(response, path);
            if (response.Content.Headers.ContentLength > maxBytes)
            {
                throw new RegistryException(RegistryFailure.TooLarge, $"{path} at {Description} has {response.Content.Headers.ContentLength} bytes; at most {maxBytes} expected");
            }

            var stream = await response.Content.ReadAsStreamAsync(watchdog.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var body = await BoundedRead.ReadAllAsync(stream, maxBytes, watchdog, $"{path} at {Description}").ConfigureAwait(false);
                if (response.Headers.ETag is { } etag)
                {
                    _cache[path] = (etag, body);
                }

                return (byte[]?)body;
            }
        }, cancellationToken);

    public async Task<RegistryContent> OpenReadAsync(string path, long offset, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Url(path));
        if (offset > 0)
        {
            request.Headers.Range = new RangeHeaderValue(offset, null);
            if (_fileTags.TryGetValue(path, out var tag))
            {
                request.Headers.IfRange = new RangeConditionHeaderValue(tag);
            }
        }

        var response = await SendAsync(request, path, cancellationToken).ConfigureAwait(false);
        try
        {
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                // Nothing beyond what we have: an empty stream lets the caller decide (complete or truncated).
                response.Dispose();
                return new RegistryContent(Stream.Null, offset);
            }

            EnsureSuccess(response, path);
            if (response.Headers.ETag is { } etag)
            {
                _fileTags[path] = etag;
            }

            var start = response.StatusCode == HttpStatusCode.PartialContent ? response.Content.Headers.ContentRange?.From ?? 0 : 0;
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return new RegistryContent(stream, start, response);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    public async Task WriteAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, Url(path)) { Content = new StreamContent(content) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await SendAsync(request, path, cancellationToken).ConfigureAwait(false);
        EnsureSuccess(response, path);
        _cache.TryRemove(path, out _);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, string path, CancellationToken ct)
    {
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new RegistryException(RegistryFailure.Unavailable, $"{Description} is unreachable for {path}: {e.Message}", e);
        }
    }

    private void EnsureSuccess(HttpResponseMessage response, string path)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var code = (int)response.StatusCode;
        var failure = response.StatusCode switch
        {
            HttpStatusCode.NotFound => RegistryFailure.NotFound,
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.MethodNotAllowed => RegistryFailure.Denied,
            _ => RegistryFailure.Unavailable,
        };
        throw new RegistryException(failure, $"{Description} answered {code} {response.ReasonPhrase} for {path}; expected 2xx");
    }

    private Uri Url(string path) =>
        new(_base, string.Join('/', path.Split('/').Select(Uri.EscapeDataString)));
}
