using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeMl.Agent.Diagnostics;

/// <summary>
/// The field diagnostics page at <c>/</c> and <c>/diagnostics</c>: one self-contained HTML file embedded in the
/// assembly that polls <c>/api/health</c>, <c>/api/events</c>, <c>/api/history</c> and <c>/api/drift</c>. The page itself holds no data, so it is served
/// without the token; the API calls it makes carry it.
/// </summary>
internal static partial class DiagnosticsPage
{
    private const string ResourceName = "EdgeMl.Agent.Diagnostics.diagnostics.html";
    private static readonly Lazy<Page> Content = new(Load);

    public static IEndpointRouteBuilder MapDiagnosticsPage(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", Serve).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/diagnostics", Serve).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/api/history", ServeHistory).ExcludeFromDescription();
        app.MapGet("/api/drift", ServeDrift).ExcludeFromDescription();
        return app;
    }

    /// <summary>The Content-Security-Policy the page is served with: only its own inline script and style, by hash.</summary>
    internal static string ContentSecurityPolicy => Content.Value.Policy;

    private static async Task Serve(HttpContext context)
    {
        var page = Content.Value;
        var response = context.Response;
        response.ContentType = "text/html; charset=utf-8";
        response.Headers.ContentSecurityPolicy = page.Policy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.XFrameOptions = "DENY";
        response.Headers.CacheControl = "no-store";
        // The token may arrive in the address once; it must not travel on in a Referer.
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.ContentLength = page.Bytes.Length;
        await response.Body.WriteAsync(page.Bytes, context.RequestAborted);
    }

    /// <summary>The charts' data: the last hour per model, a minute at a time; an empty list before the first request.</summary>
    private static async Task ServeHistory(HttpContext context)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await using var json = new System.Text.Json.Utf8JsonWriter(context.Response.Body);
        context.RequestServices.GetRequiredService<History>().WriteJson(json);
        await json.FlushAsync(context.RequestAborted);
    }

    /// <summary>The drift charts' data: baseline against live window per distribution; no models when drift monitoring is off.</summary>
    private static async Task ServeDrift(HttpContext context)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await using var json = new System.Text.Json.Utf8JsonWriter(context.Response.Body);
        DriftView.WriteJson(json, context.RequestServices.GetService<DriftRegistry>());
        await json.FlushAsync(context.RequestAborted);
    }

    private static Page Load()
    {
        using var stream = typeof(DiagnosticsPage).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"{ResourceName} is not embedded in the agent assembly");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var html = reader.ReadToEnd();
        var scripts = string.Join(' ', ScriptBlock().Matches(html).Select(m => Hash(m.Groups[1].Value)));
        var styles = string.Join(' ', StyleBlock().Matches(html).Select(m => Hash(m.Groups[1].Value)));
        var policy = $"default-src 'none'; script-src {scripts}; style-src {styles}; connect-src 'self'; img-src 'self' data:; "
            + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
        return new Page(Encoding.UTF8.GetBytes(html), policy);
    }

    private static string Hash(string block) => $"'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(block)))}'";

    [GeneratedRegex("<script>(.*?)</script>", RegexOptions.Singleline)]
    private static partial Regex ScriptBlock();

    [GeneratedRegex("<style>(.*?)</style>", RegexOptions.Singleline)]
    private static partial Regex StyleBlock();

    private sealed record Page(byte[] Bytes, string Policy);
}
