using System.Buffers.Binary;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.Tests.Telemetry;

/// <summary>
/// An OTLP receiver on loopback, as a collector listens: gRPC (HTTP/2 without TLS, <c>:4317</c>'s protocol) or
/// HTTP/protobuf (<c>/v1/traces</c>, <c>/v1/metrics</c>, <c>:4318</c>'s). It reads the protobuf far enough for span
/// and metric names, trace and parent ids, and keeps the request headers.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OtlpReceiver(WebApplication app, Uri endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    public Uri Endpoint { get; }

    public ConcurrentQueue<Span> Spans { get; } = new();

    public ConcurrentDictionary<string, int> MetricNames { get; } = new(StringComparer.Ordinal);

    public ConcurrentQueue<string> HeaderValues { get; } = new();

    public static async Task<OtlpReceiver> StartAsync(bool grpc)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = grpc ? HttpProtocols.Http2 : HttpProtocols.Http1));
        var app = builder.Build();
        OtlpReceiver? receiver = null;
        app.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            var bytes = body.ToArray();
            receiver!.HeaderValues.Enqueue(string.Join("\n", context.Request.Headers.Select(h => $"{h.Key}: {h.Value}")));
            var message = grpc ? bytes.AsMemory(5, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(1))) : bytes.AsMemory();
            var path = context.Request.Path.Value ?? "";
            if (path.Contains("trace", StringComparison.OrdinalIgnoreCase))
            {
                receiver.ReadTraces(message);
            }
            else if (path.Contains("metric", StringComparison.OrdinalIgnoreCase))
            {
                receiver.ReadMetrics(message);
            }

            if (grpc)
            {
                context.Response.ContentType = "application/grpc";
                await context.Response.Body.WriteAsync(new byte[5]);
                context.Response.AppendTrailer("grpc-status", "0");
            }
            else
            {
                context.Response.ContentType = "application/x-protobuf";
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver = new OtlpReceiver(app, new Uri(address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal)));
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    // ExportTraceServiceRequest: 1 resource_spans { 2 scope_spans { 2 spans { 1 trace_id, 2 span_id, 4 parent_span_id, 5 name } } }
    private void ReadTraces(ReadOnlyMemory<byte> request)
    {
        foreach (var resource in Fields(request, 1))
        {
            foreach (var scope in Fields(resource, 2))
            {
                foreach (var span in Fields(scope, 2))
                {
                    Spans.Enqueue(new Span(
                        Hex(Fields(span, 1).FirstOrDefault()), Hex(Fields(span, 2).FirstOrDefault()), Hex(Fields(span, 4).FirstOrDefault()),
                        System.Text.Encoding.UTF8.GetString(Fields(span, 5).FirstOrDefault().Span)));
                }
            }
        }
    }

    // ExportMetricsServiceRequest: 1 resource_metrics { 2 scope_metrics { 2 metrics { 1 name } } }
    private void ReadMetrics(ReadOnlyMemory<byte> request)
    {
        foreach (var resource in Fields(request, 1))
        {
            foreach (var scope in Fields(resource, 2))
            {
                foreach (var metric in Fields(scope, 2))
                {
                    MetricNames.AddOrUpdate(System.Text.Encoding.UTF8.GetString(Fields(metric, 1).FirstOrDefault().Span), 1, (_, n) => n + 1);
                }
            }
        }
    }

    private static string Hex(ReadOnlyMemory<byte> bytes) => Convert.ToHexStringLower(bytes.Span);

    /// <summary>The length-delimited fields numbered <paramref name="number"/> of one message; other fields are skipped by wire type.</summary>
    private static List<ReadOnlyMemory<byte>> Fields(ReadOnlyMemory<byte> message, int number)
    {
        var found = new List<ReadOnlyMemory<byte>>();
        var span = message.Span;
        var at = 0;
        while (at < span.Length)
        {
            var key = Varint(span, ref at);
            var wire = (int)(key & 7);
            switch (wire)
            {
                case 0:
                    Varint(span, ref at);
                    break;
                case 1:
                    at += 8;
                    break;
                case 5:
                    at += 4;
                    break;
                case 2:
                    var length = (int)Varint(span, ref at);
                    if ((int)(key >> 3) == number)
                    {
                        found.Add(message.Slice(at, length));
                    }

                    at += length;
                    break;
                default:
                    throw new InvalidDataException($"wire type {wire} at {at}");
            }
        }

        return found;
    }

    private static ulong Varint(ReadOnlySpan<byte> span, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = span[at++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }

    internal sealed record Span(string TraceId, string SpanId, string ParentSpanId, string Name);
}
