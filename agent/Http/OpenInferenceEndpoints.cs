using System.Globalization;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text.Json;
using EdgeMl.Agent.Protocol;
using EdgeMl.Agent.Sequences;
using EdgeMl.Agent.Serving;
using EdgeMl.Agent.Telemetry;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Tensors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Http;

/// <summary>
/// The Open Inference Protocol (KServe v2) over HTTP, as Triton and KServe clients expect it: bodies read
/// raw whatever the Content-Type, the binary tensor extension, errors as <c>{"error": …}</c>.
/// </summary>
internal static class OpenInferenceEndpoints
{
    private const string HeaderLength = "Inference-Header-Content-Length";
    private const int KeptByteCounts = 1024;

    private static readonly string?[] ByteCounts = new string?[KeptByteCounts];

    public static IEndpointRouteBuilder MapOpenInferenceProtocol(this IEndpointRouteBuilder app)
    {
        var s = new Services(app.ServiceProvider);
        var v2 = app.MapGroup("/v2");
        v2.MapGet("/", ServerMetadata);
        v2.MapGet("/health/live", (HttpContext c) => Json(c, 200, w => w.WriteBoolean("live", true)));
        v2.MapGet("/health/ready", (HttpContext c) => ServerReady(c, s));
        v2.MapGet("/models/{model}", (HttpContext c, string model) => ModelMetadata(c, s, model, null));
        v2.MapGet("/models/{model}/versions/{version}", (HttpContext c, string model, string version) => ModelMetadata(c, s, model, version));
        v2.MapGet("/models/{model}/ready", (HttpContext c, string model) => ModelReady(c, s, model, null));
        v2.MapGet("/models/{model}/versions/{version}/ready", (HttpContext c, string model, string version) => ModelReady(c, s, model, version));
        // Request delegates, not handlers with bound parameters: a bound handler's generated code is one more frame,
        // and one more object whenever the request waits for its body or its turn.
        v2.MapPost("/models/{model}/infer", (HttpContext c) => Infer(c, s, RouteValue(c, "model")!, null));
        v2.MapPost("/models/{model}/versions/{version}/infer", (HttpContext c) => Infer(c, s, RouteValue(c, "model")!, RouteValue(c, "version")));
        return app;
    }

    /// <summary>
    /// The singletons the endpoints use, from the application's root container: reading them through
    /// <c>HttpContext.RequestServices</c> would open a DI scope for every request (two objects and a dictionary) that
    /// nothing here needs.
    /// </summary>
    private sealed class Services(IServiceProvider root)
    {
        public InferenceEngine Engine => field ??= root.GetRequiredService<InferenceEngine>();

        public SequenceStore Sequences => field ??= root.GetRequiredService<SequenceStore>();

        public ServingReadiness Readiness => field ??= root.GetRequiredService<ServingReadiness>();

        public HttpApiOptions Options => field ??= root.GetRequiredService<IOptions<HttpApiOptions>>().Value;
    }

    private static Task ServerMetadata(HttpContext context) => Json(context, 200, w =>
    {
        w.WriteString("name", "edgeml");
        w.WriteString("version", AgentVersion.Value);
        w.WriteStartArray("extensions");
        w.WriteStringValue("binary_tensor_data");
        w.WriteEndArray();
    });

    private static Task ServerReady(HttpContext context, Services services)
    {
        var readiness = services.Readiness.Server();
        return Json(context, readiness.IsReady ? 200 : 503, w =>
        {
            w.WriteBoolean("ready", readiness.IsReady);
            if (readiness.Reason is { } reason)
            {
                w.WriteString("reason", reason);
            }
        });
    }

    private static Task ModelMetadata(HttpContext context, Services services, string model, string? version)
    {
        var status = Find(services, model, version);
        return Json(context, 200, w =>
        {
            w.WriteString("name", status.Name);
            w.WriteStartArray("versions");
            w.WriteStringValue(status.Version!.Value.ToString(CultureInfo.InvariantCulture));
            w.WriteEndArray();
            w.WriteString("platform", "onnxruntime_onnx");
            WriteSpecs(w, "inputs", status.Signature!.Inputs);
            WriteSpecs(w, "outputs", status.Signature.Outputs);
        });
    }

    private static Task ModelReady(HttpContext context, Services services, string model, string? version)
    {
        var readiness = services.Readiness.Model(model, ParseVersion(version));
        return readiness.State switch
        {
            ReadinessState.Ready => Json(context, 200, w =>
            {
                w.WriteString("name", model);
                w.WriteBoolean("ready", true);
            }),
            ReadinessState.Unknown => throw new ProtocolException(404, readiness.Reason!),
            _ => throw new ProtocolException(503, readiness.Reason!),
        };
    }

    private static Task Infer(HttpContext context, Services services, string model, string? versionText) =>
        PooledFrames.AsTask(InferAsync(context, services, model, versionText));

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask InferAsync(HttpContext context, Services services, string model, string? versionText)
    {
        using var trace = Traces.StartPrediction(Traces.Http, model, NullIfEmpty(context.Request.Headers.TraceParent), NullIfEmpty(context.Request.Headers.TraceState));
        var version = ParseVersion(versionText);

        // Nothing of the body is read for a model that is not here (the engine's words, as when it answers itself).
        if (!services.Engine.Holds(model))
        {
            throw new ProtocolException(404, $"model '{model}' is not served");
        }

        var options = services.Options;
        long? headerLength = null;
        if (context.Request.Headers.TryGetValue(HeaderLength, out var headerValue))
        {
            headerLength = long.TryParse(headerValue.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed)
                ? parsed
                : throw ProtocolException.BadRequest($"{HeaderLength} '{headerValue}' is not a byte count");
        }

        using var body = await PooledBody.ReadAsync(context.Request, options.MaxRequestBodyBytes, context.RequestAborted);
        var call = InferRequestReader.Read(body.Memory, headerLength, services.Engine.TensorNames(model));
        InferenceResult result;
        try
        {
            result = await services.Sequences.InferAsync(model, call.Request, version, call.Sequence, context.RequestAborted);
        }
        catch (SequenceException e)
        {
            throw ProtocolException.BadRequest(e.Message);
        }

        // Written, the answer's pooled output buffers go back (the response's binary parts are those buffers).
        using (result)
        {
            if (!result.IsSuccess)
            {
                trace.Fail(result.Error!.Kind.ToString());
                throw ProtocolException.Of(result.Error!);
            }

            var json = PooledJson.Rent();
            try
            {
                await WriteInferResponse(context, InferResponseWriter.Build(call, result, json));
            }
            finally
            {
                PooledJson.Return(json);
            }
        }
    }

    private static string? RouteValue(HttpContext context, string name) => context.Request.RouteValues[name] as string;

    private static string? NullIfEmpty(Microsoft.Extensions.Primitives.StringValues value) => value.Count == 0 ? null : value.ToString();

    private static async Task WriteInferResponse(HttpContext context, InferResponse response)
    {
        var http = context.Response;
        http.StatusCode = 200;
        http.ContentType = response.HasBinary ? "application/octet-stream" : "application/json";
        if (response.HasBinary)
        {
            http.Headers[HeaderLength] = ByteCount(response.Json.Length);
        }

        var encoding = ChooseEncoding(context.Request.Headers.AcceptEncoding.ToString());
        if (encoding is null)
        {
            http.ContentLength = response.Length;
            await http.Body.WriteAsync(response.Json, context.RequestAborted);
            for (var i = 0; i < response.BlobCount; i++)
            {
                await http.Body.WriteAsync(response.Blob(i), context.RequestAborted);
            }

            return;
        }

        http.Headers.ContentEncoding = encoding;
        await using Stream compressed = encoding == "gzip"
            ? new GZipStream(http.Body, CompressionLevel.Fastest, leaveOpen: true)
            : new ZLibStream(http.Body, CompressionLevel.Fastest, leaveOpen: true);
        await compressed.WriteAsync(response.Json, context.RequestAborted);
        for (var i = 0; i < response.BlobCount; i++)
        {
            await compressed.WriteAsync(response.Blob(i), context.RequestAborted);
        }
    }

    /// <summary>
    /// A JSON header's length as the header value: the lengths of one model's answers repeat, so those under
    /// <see cref="KeptByteCounts"/> are made into strings once (at most 1,024 strings of a few characters).
    /// </summary>
    internal static string ByteCount(int length)
    {
        if ((uint)length >= KeptByteCounts)
        {
            return length.ToString(CultureInfo.InvariantCulture);
        }

        return ByteCounts[length] ??= length.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>gzip or deflate (zlib) when the client asks, by q-value; only infer responses are compressed.</summary>
    internal static string? ChooseEncoding(string acceptEncoding)
    {
        if (acceptEncoding.Length == 0)
        {
            return null;
        }

        string? best = null;
        var bestQ = 0.0;
        foreach (var part in acceptEncoding.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var pieces = part.Split(';', StringSplitOptions.TrimEntries);
            var q = 1.0;
            foreach (var p in pieces.AsSpan(1))
            {
                if (p.StartsWith("q=", StringComparison.OrdinalIgnoreCase) && double.TryParse(p[2..], NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
                {
                    q = parsed;
                }
            }

            var name = pieces[0].ToLowerInvariant();
            if (name is "gzip" or "deflate" or "identity" && q > bestQ)
            {
                (best, bestQ) = (name, q);
            }
        }

        return best == "identity" ? null : best;
    }

    private static ModelStatus Find(Services services, string model, string? versionText)
    {
        var version = ParseVersion(versionText);
        var status = services.Engine.GetStatus(model) ?? throw new ProtocolException(404, $"Request for unknown model: '{model}' is not found");
        if (status.State != ModelState.Ready)
        {
            throw new ProtocolException(503, $"model '{model}' has no ready version{(status.LastFailure is { } f ? $": v{f.Version} failed at {f.Stage}: {f.Reason}" : "")}");
        }

        if (version is { } wanted && wanted != status.Version)
        {
            throw new ProtocolException(404, $"Request for unknown model: '{model}' version {wanted} is not found; the active version is {status.Version}");
        }

        return status;
    }

    private static long? ParseVersion(string? text) =>
        text is null ? null
        : long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v
        : throw ProtocolException.BadRequest($"model version '{text}' must be a positive integer");

    private static void WriteSpecs(Utf8JsonWriter w, string property, IReadOnlyList<TensorSpec> specs)
    {
        w.WriteStartArray(property);
        foreach (var spec in specs)
        {
            w.WriteStartObject();
            w.WriteString("name", spec.Name);
            w.WriteString("datatype", spec.DataType.ToProtocolName());
            w.WriteStartArray("shape");
            foreach (var d in spec.Shape)
            {
                w.WriteNumberValue(d);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    internal static async Task Json(HttpContext context, int status, Action<Utf8JsonWriter> body)
    {
        var buffer = PooledJson.Rent();
        try
        {
            PooledJson.Write(buffer, body, static (writer, body) =>
            {
                writer.WriteStartObject();
                body(writer);
                writer.WriteEndObject();
            });
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = buffer.WrittenCount;
            await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
        }
        finally
        {
            PooledJson.Return(buffer);
        }
    }
}
