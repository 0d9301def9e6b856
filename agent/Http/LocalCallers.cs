using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace EdgeMl.Agent.Http;

/// <summary>
/// What keeps the local API for local callers when a web page in a browser on the device is the attacker:
/// a Host name the agent does not answer to (DNS rebinding) is refused with 421, a request from a foreign
/// <c>Origin</c> with 403, and a POST body that is neither JSON nor octets with 415 (what an HTML form or a
/// cross-site <c>text/plain</c> fetch sends).
/// </summary>
/// <remarks>
/// Any IP literal is accepted as Host: a rebinding attack needs a name the attacker's DNS answers for, and a caller
/// who types an address is not a web page pretending to be local. A POST without Content-Type is accepted because
/// Triton's Python client sends none; a browser sending one cross-site also sends an <c>Origin</c>.
/// </remarks>
internal sealed class LocalCallers
{
    private readonly string[] _names;
    private readonly string[] _suffixes;

    public LocalCallers(string allowedHosts)
    {
        ArgumentNullException.ThrowIfNull(allowedHosts);
        var entries = allowedHosts.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        _names = ["localhost", .. entries.Where(e => !e.StartsWith("*.", StringComparison.Ordinal))];
        _suffixes = [".localhost", .. entries.Where(e => e.StartsWith("*.", StringComparison.Ordinal)).Select(e => e[1..])];
    }

    /// <summary>Why the request is refused, or null when it may go on.</summary>
    public (int Status, string Message)? Check(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var host = HostPart(request.Host.Value);
        if (host.Length > 0 && !IsAllowedHost(host))
        {
            return (StatusCodes.Status421MisdirectedRequest,
                $"this agent does not answer to the host name '{host}'; callers use localhost or an IP address, or the name is added to EdgeMl:Http:AllowedHosts");
        }

        if (request.Headers.Origin is { Count: > 0 } origin && !IsSameOrigin(origin.ToString(), request))
        {
            return (StatusCodes.Status403Forbidden, $"requests from the web origin '{origin}' are refused; the local API serves pages of its own origin only");
        }

        if (HttpMethods.IsPost(request.Method) && request.ContentType is { Length: > 0 } contentType && !IsAcceptedBody(contentType))
        {
            return (StatusCodes.Status415UnsupportedMediaType, $"a request body of type '{contentType}' is not accepted; send application/json or application/octet-stream");
        }

        return null;
    }

    /// <summary>Checked on every request, so without a new string or address: the Host header's own characters.</summary>
    internal bool IsAllowedHost(ReadOnlySpan<char> host)
    {
        if (host.StartsWith('['))
        {
            return host.EndsWith(']') && IPAddress.IsValid(host[1..^1]);
        }

        if (IPAddress.IsValid(host))
        {
            return true;
        }

        foreach (var name in _names)
        {
            if (host.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        foreach (var suffix in _suffixes)
        {
            if (host.Length > suffix.Length && host.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The host of a Host header value without its port, as <see cref="HostString.Host"/> reads it (a bracketed IPv6
    /// address whole, a name or IPv4 address before a single colon), without making a string of it.
    /// </summary>
    internal static ReadOnlySpan<char> HostPart(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return [];
        }

        var close = value.IndexOf(']', StringComparison.Ordinal);
        if (close >= 0)
        {
            return value.AsSpan(0, close + 1);
        }

        var colon = value.IndexOf(':', StringComparison.Ordinal);
        return colon >= 0 && colon == value.LastIndexOf(':') ? value.AsSpan(0, colon) : value;
    }

    /// <summary>The page's own origin: same scheme, host and port as the request it sends.</summary>
    private static bool IsSameOrigin(string origin, HttpRequest request) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri)
        && string.Equals(uri.Scheme, request.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(uri.IdnHost, request.Host.Host.Trim('[', ']'), StringComparison.OrdinalIgnoreCase)
        && uri.Port == (request.Host.Port ?? (request.IsHttps ? 443 : 80));

    /// <summary>The two media types as clients send them are matched in place; anything else (parameters, odd spacing) is parsed.</summary>
    private static bool IsAcceptedBody(string contentType) =>
        contentType.Equals("application/octet-stream", StringComparison.OrdinalIgnoreCase)
        || contentType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        || (MediaTypeHeaderValue.TryParse(contentType, out var media)
        && (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || media.MediaType.Equals("application/octet-stream", StringComparison.OrdinalIgnoreCase)));
}
