using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Http;

/// <summary>The local HTTP API: the Open Inference Protocol and the diagnostics page.</summary>
internal sealed class HttpApiOptions
{
    public const string Section = "EdgeMl:Http";

    /// <summary>Where Kestrel listens; loopback unless the operator says otherwise.</summary>
    [Required]
    public string Urls { get; set; } = "http://127.0.0.1:8000";

    /// <summary>
    /// Bearer token for every endpoint but health. Required when <see cref="Urls"/> binds beyond loopback.
    /// </summary>
    public string? Token { get; set; }

    /// <summary>
    /// Host names the API answers to besides <c>localhost</c> and IP addresses, separated by <c>;</c>
    /// (<c>*.example.com</c> for every name under one); any other Host is refused, which stops DNS rebinding.
    /// </summary>
    public string AllowedHosts { get; set; } = "";

    /// <summary>The largest request body accepted (Triton's default is 64 MiB).</summary>
    [Range(1024, 1L << 32)]
    public long MaxRequestBodyBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Kestrel's own limit: <see cref="MaxRequestBodyBytes"/>, which the API checks as it reads a body, and an allowance
    /// beyond it (as much again, at least 1 MiB and at most 8 MiB). After a 413, Kestrel reads off the rest of a body
    /// within that allowance (and its 5 s drain), so a client that sends its whole body before it reads gets the answer
    /// and keeps its connection. At the same number, Kestrel closed the connection under a client still sending, which
    /// HttpClient reports as a failed send, not as the 413.
    /// </summary>
    internal static long KestrelLimit(long maxRequestBodyBytes) => maxRequestBodyBytes + Math.Clamp(maxRequestBodyBytes, 1L << 20, 8L << 20);
}

[OptionsValidator]
internal sealed partial class HttpApiOptionsValidator : IValidateOptions<HttpApiOptions>;
