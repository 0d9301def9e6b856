using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;

namespace EdgeMl.Agent.Cli;

/// <summary>Where the verbs that talk to a running agent find it: <c>--url</c>, and <c>--token</c> or <c>EDGEML_TOKEN</c>.</summary>
internal sealed record AgentConnection(Uri Url, string? Token)
{
    public const string DefaultUrl = "http://127.0.0.1:8000";
    public const string TokenVariable = "EDGEML_TOKEN";

    /// <summary>The agent's own token setting in the environment: inside the module's container the CLI finds it there.</summary>
    public const string AgentTokenVariable = "EdgeMl__Http__Token";

    public static Option<string> UrlOption() => new("--url") { Description = $"The agent's local API (default {DefaultUrl}, its EdgeMl:Http:Urls)", DefaultValueFactory = _ => DefaultUrl };

    public static Option<string?> TokenOption() => new("--token") { Description = $"The agent's bearer token (EdgeMl:Http:Token); default ${TokenVariable}, else ${AgentTokenVariable}" };

    /// <summary>The connection from the parsed options, the token falling back to <see cref="TokenVariable"/>, then <see cref="AgentTokenVariable"/>.</summary>
    public static AgentConnection Resolve(string url, string? token, Func<string, string?> environment)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"--url '{url}' is not an http:// or https:// address");
        }

        var chosen = token is { Length: > 0 } ? token : environment(TokenVariable) is { Length: > 0 } variable ? variable : environment(AgentTokenVariable);
        return new AgentConnection(uri, string.IsNullOrEmpty(chosen) ? null : chosen);
    }

    public static AgentConnection FromParse(ParseResult parse, Option<string> url, Option<string?> token) =>
        Resolve(parse.GetValue(url)!, parse.GetValue(token), Environment.GetEnvironmentVariable);
}

/// <summary>A call to the agent that did not succeed, with the exit code and a message that says what to do.</summary>
internal sealed class AgentCallException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>
/// HTTP to a running agent's local API, turning every way it can go wrong into an <see cref="AgentCallException"/>
/// a field engineer can act on: nothing listening, token missing or refused, unknown model, the protocol's
/// <c>{"error": …}</c> body.
/// </summary>
internal sealed class LocalApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly AgentConnection _connection;

    public LocalApiClient(AgentConnection connection)
    {
        _connection = connection;
        _http = new HttpClient { BaseAddress = connection.Url, Timeout = TimeSpan.FromSeconds(100) };
    }

    /// <summary>Sends the request; returns the response only when it is a success (the caller disposes it).</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (_connection.Token is { } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new AgentCallException(ExitCodes.AgentUnreachable, Unreachable(Describe(e)));
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AgentCallException(ExitCodes.AgentUnreachable, Unreachable($"no answer within {_http.Timeout.TotalSeconds:F0} s"));
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var detail = await ErrorOf(response, cancellationToken);
            throw response.StatusCode switch
            {
                HttpStatusCode.Unauthorized => new AgentCallException(ExitCodes.Unauthorized, _connection.Token is null
                    ? $"the agent at {_connection.Url} needs its token: pass --token TOKEN or set {AgentConnection.TokenVariable} (the agent's EdgeMl:Http:Token)"
                    : $"the agent at {_connection.Url} refused the token given (--token or {AgentConnection.TokenVariable}); check it against the agent's EdgeMl:Http:Token"),
                HttpStatusCode.NotFound => new AgentCallException(ExitCodes.NotFound, $"{request.RequestUri?.AbsolutePath}: {detail}"),
                _ => new AgentCallException(ExitCodes.AgentError, $"the agent answered {(int)response.StatusCode}: {detail}"),
            };
        }
    }

    public async Task<byte[]> GetBytesAsync(string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        using var response = await SendAsync(request, cancellationToken);
        return await response.Content.ReadAsByteArrayAsync(cancellationToken);
    }

    /// <summary>A JSON document from the API, with a clear message when the agent sends something else.</summary>
    public async Task<JsonDocument> GetJsonAsync(string path, CancellationToken cancellationToken)
    {
        var body = await GetBytesAsync(path, cancellationToken);
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            throw new AgentCallException(ExitCodes.AgentError, $"{path} did not answer JSON: {e.Message}");
        }
    }

    public void Dispose() => _http.Dispose();

    private string Unreachable(string why) =>
        $"no EdgeMl agent answered at {_connection.Url} ({why}). Start it with 'edgeml run' (or scripts/run.sh); as an IoT Edge module, "
        + "see 'iotedge list' and 'iotedge logs edgeml'. If it listens elsewhere (EdgeMl:Http:Urls), pass --url.";

    private static string Describe(HttpRequestException e) => e.InnerException switch
    {
        SocketException { SocketErrorCode: SocketError.ConnectionRefused } => "connection refused",
        SocketException s => s.Message,
        { } inner => inner.Message,
        _ => e.Message,
    };

    /// <summary>The protocol's <c>{"error": message}</c>, or the start of whatever else came back.</summary>
    private static async Task<string> ErrorOf(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String)
            {
                return error.GetString()!;
            }
        }
        catch (JsonException)
        {
            // Not the protocol's error shape (a proxy's page, say): show the text itself.
        }

        return text.Length == 0 ? response.ReasonPhrase ?? "no body" : text.Length > 500 ? text[..500] + "…" : text;
    }
}
