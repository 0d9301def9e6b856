using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Serialization;

namespace EdgeMl.CloudSync.IoTHub;

/// <summary>
/// The IoT Edge workload API (HTTP/1.1 over a Unix socket, api-version 2018-06-28): signs SAS tokens with
/// the module key and serves the edge CA trust bundle.
/// </summary>
internal sealed class WorkloadApiClient : IDisposable
{
    public const string ApiVersion = "2018-06-28";
    private readonly HttpClient _http;

    public WorkloadApiClient(Uri workloadUri)
    {
        ArgumentNullException.ThrowIfNull(workloadUri);
        if (workloadUri.Scheme == "unix")
        {
            var socketPath = workloadUri.AbsolutePath;
            var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                        return new NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                },
            };
            _http = new HttpClient(handler) { BaseAddress = new Uri("http://workload/") };
        }
        else if (workloadUri.Scheme is "http")
        {
            _http = new HttpClient { BaseAddress = workloadUri };
        }
        else
        {
            throw new ArgumentException($"Unsupported IOTEDGE_WORKLOADURI scheme '{workloadUri.Scheme}': expected unix:// or http://.", nameof(workloadUri));
        }

        _http.Timeout = TimeSpan.FromSeconds(30);
    }

    public async Task<string> SignAsync(string moduleId, string generationId, string stringToSign, CancellationToken cancellationToken)
    {
        var path = $"modules/{Uri.EscapeDataString(moduleId)}/genid/{Uri.EscapeDataString(generationId)}/sign?api-version={ApiVersion}";
        var request = new SignRequest("primary", "HMACSHA256", Convert.ToBase64String(Encoding.UTF8.GetBytes(stringToSign)));
        using var response = await _http.PostAsJsonAsync(path, request, WorkloadJsonContext.Default.SignRequest, cancellationToken);
        await EnsureSuccessAsync(response, "sign", cancellationToken);
        var body = await response.Content.ReadFromJsonAsync(WorkloadJsonContext.Default.SignResponse, cancellationToken);
        return body?.Digest is { Length: > 0 } digest
            ? digest
            : throw new WorkloadApiException("The workload API sign response has no digest.", response.StatusCode);
    }

    public async Task<X509Certificate2Collection> GetTrustBundleAsync(CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync($"trust-bundle?api-version={ApiVersion}", cancellationToken);
        await EnsureSuccessAsync(response, "trust-bundle", cancellationToken);
        var body = await response.Content.ReadFromJsonAsync(WorkloadJsonContext.Default.TrustBundleResponse, cancellationToken);
        if (body?.Certificate is not { Length: > 0 } pem)
        {
            throw new WorkloadApiException("The workload API trust bundle is empty.", response.StatusCode);
        }

        var collection = new X509Certificate2Collection();
        collection.ImportFromPem(pem);
        return collection;
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string operation, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        throw new WorkloadApiException($"The workload API {operation} request failed with {(int)response.StatusCode}: {text}", response.StatusCode);
    }

    public void Dispose() => _http.Dispose();
}

internal sealed class WorkloadApiException(string message, HttpStatusCode status) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;
}

internal sealed record SignRequest(
    [property: JsonPropertyName("keyId")] string KeyId,
    [property: JsonPropertyName("algo")] string Algo,
    [property: JsonPropertyName("data")] string Data);

internal sealed record SignResponse([property: JsonPropertyName("digest")] string? Digest);

internal sealed record TrustBundleResponse([property: JsonPropertyName("certificate")] string? Certificate);

[JsonSerializable(typeof(SignRequest))]
[JsonSerializable(typeof(SignResponse))]
[JsonSerializable(typeof(TrustBundleResponse))]
internal sealed partial class WorkloadJsonContext : JsonSerializerContext;
