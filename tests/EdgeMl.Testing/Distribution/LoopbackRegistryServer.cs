using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace EdgeMl.Testing.Distribution;

/// <summary>How the server misbehaves for one request; null serves normally.</summary>
public sealed record ServerFault
{
    public int? Status { get; init; }

    /// <summary>Send the headers and this many body bytes, then hang until the client gives up.</summary>
    public long? HangAfter { get; init; }

    /// <summary>Send the headers and this many body bytes, then close the connection.</summary>
    public long? DropAfter { get; init; }

    /// <summary>Answer Range requests with the whole file (200), like a server without Range support.</summary>
    public bool IgnoreRange { get; init; }

    /// <summary>Send the headers, then one body byte per interval, for ever: a server that trickles to hold its client.</summary>
    public TimeSpan? TrickleInterval { get; init; }
}

/// <summary>One request the server saw.</summary>
public sealed record SeenRequest(string Method, string Path, string? Range, string? IfNoneMatch, int Status);

/// <summary>
/// A static HTTP/1.1 registry on a loopback ephemeral port, serving (and accepting PUTs into) a folder, with
/// ETags, <c>If-None-Match</c>, <c>Range</c>, and faults on demand: a status code, a hang or a cut half-way.
/// </summary>
public sealed class LoopbackRegistryServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    /// <param name="pathPrefix">The URL path the registry is served under, such as <c>/account/container/</c> for a blob client.</param>
    public LoopbackRegistryServer(string root, string pathPrefix = "/registry/")
    {
        Root = root;
        Directory.CreateDirectory(root);
        _listener.Start();
        Uri = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}{pathPrefix}");
        _accepting = AcceptAsync();
    }

    public string Root { get; }

    public Uri Uri { get; }

    /// <summary>Decides a fault per request (method, path, how many times this path was requested before).</summary>
    public Func<string, string, int, ServerFault?>? Faults { get; set; }

    public ConcurrentQueue<SeenRequest> Requests { get; } = new();

    /// <summary>Signalled each time a request starts hanging or trickling.</summary>
    public SemaphoreSlim Hanging { get; } = new(0);

    /// <summary>Body bytes written to clients so far, over all requests.</summary>
    public long BodyBytesSent => Interlocked.Read(ref _bodyBytesSent);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        _stop.Dispose();
        Hanging.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                await using var stream = client.GetStream();
                await HandleAsync(stream);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away or the server is stopping.
            }
        }
    }

    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);
    private long _bodyBytesSent;

    private async Task HandleAsync(NetworkStream stream)
    {
        var head = await ReadHeadAsync(stream);
        if (head is null)
        {
            return;
        }

        var lines = head.Split("\r\n");
        var parts = lines[0].Split(' ');
        var (method, target) = (parts[0], Uri.UnescapeDataString(parts[1]));
        var headers = lines.Skip(1).Where(l => l.Contains(':', StringComparison.Ordinal))
            .ToDictionary(l => l[..l.IndexOf(':', StringComparison.Ordinal)].Trim(), l => l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim(), StringComparer.OrdinalIgnoreCase);
        var prefix = Uri.AbsolutePath;
        var relative = target.StartsWith(prefix, StringComparison.Ordinal) ? target[prefix.Length..] : "";
        var path = Path.GetFullPath(Path.Combine(Root, relative));
        var count = _counts.AddOrUpdate(method + " " + relative, 0, (_, c) => c + 1);
        var fault = Faults?.Invoke(method, relative, count);
        headers.TryGetValue("Range", out var range);
        headers.TryGetValue("If-None-Match", out var ifNoneMatch);

        if (fault?.Status is { } status)
        {
            Requests.Enqueue(new SeenRequest(method, relative, range, ifNoneMatch, status));
            await WriteHeadAsync(stream, status, "Injected", new() { ["Content-Length"] = "0" });
            return;
        }

        if (relative.Length == 0 || !path.StartsWith(Path.GetFullPath(Root) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            Requests.Enqueue(new SeenRequest(method, relative, range, ifNoneMatch, 400));
            await WriteHeadAsync(stream, 400, "Bad Request", new() { ["Content-Length"] = "0" });
            return;
        }

        if (method == "PUT")
        {
            var length = long.Parse(headers.GetValueOrDefault("Content-Length", "0"), CultureInfo.InvariantCulture);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await using (var file = File.Create(path + ".put"))
            {
                await CopyExactlyAsync(stream, file, length);
            }

            File.Move(path + ".put", path, overwrite: true);
            Requests.Enqueue(new SeenRequest(method, relative, range, ifNoneMatch, 201));
            await WriteHeadAsync(stream, 201, "Created", new() { ["Content-Length"] = "0" });
            return;
        }

        if (!File.Exists(path))
        {
            Requests.Enqueue(new SeenRequest(method, relative, range, ifNoneMatch, 404));
            await WriteHeadAsync(stream, 404, "Not Found", new() { ["Content-Length"] = "0" });
            return;
        }

        var info = new FileInfo(path);
        var etag = $"\"{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{info.Length}:{info.LastWriteTimeUtc.Ticks}")))[..16]}\"";
        if (ifNoneMatch == etag)
        {
            Requests.Enqueue(new SeenRequest(method, relative, range, ifNoneMatch, 304));
            await WriteHeadAsync(stream, 304, "Not Modified", new() { ["ETag"] = etag, ["Content-Length"] = "0" });
            return;
        }

        long from = 0;
        var code = 200;
        if (range is not null && fault?.IgnoreRange != true && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            from = long.Parse(range["bytes=".Length..^1], CultureInfo.InvariantCulture);
            if (from >= info.Length)
            {
                Requests.Enqueue(new SeenRequest(method, relative, range, ifNoneMatch, 416));
                await WriteHeadAsync(stream, 416, "Range Not Satisfiable", new() { ["Content-Range"] = $"bytes */{info.Length}", ["Content-Length"] = "0" });
                return;
            }

            code = 206;
        }

        Requests.Enqueue(new SeenRequest(method, relative, range, ifNoneMatch, code));
        var responseHeaders = new Dictionary<string, string> { ["ETag"] = etag, ["Accept-Ranges"] = "bytes", ["Content-Length"] = (info.Length - from).ToString(CultureInfo.InvariantCulture) };
        if (code == 206)
        {
            responseHeaders["Content-Range"] = $"bytes {from}-{info.Length - 1}/{info.Length}";
        }

        await WriteHeadAsync(stream, code, code == 206 ? "Partial Content" : "OK", responseHeaders);
        if (method == "HEAD")
        {
            return;
        }

        if (fault?.TrickleInterval is { } interval)
        {
            Hanging.Release();
            var first = (await File.ReadAllBytesAsync(path, _stop.Token)).FirstOrDefault((byte)'{');
            while (true)
            {
                await stream.WriteAsync(new[] { first }, _stop.Token);
                Interlocked.Increment(ref _bodyBytesSent);
                await Task.Delay(interval, _stop.Token);
            }
        }

        await using var content = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, useAsync: true);
        content.Seek(from, SeekOrigin.Begin);
        var limit = fault?.HangAfter ?? fault?.DropAfter ?? long.MaxValue;
        var buffer = new byte[1 << 16];
        long sent = 0;
        int read;
        while (sent < limit && (read = await content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, limit - sent)))) > 0)
        {
            await stream.WriteAsync(buffer.AsMemory(0, read));
            sent += read;
            Interlocked.Add(ref _bodyBytesSent, read);
        }

        await stream.FlushAsync();
        if (fault?.HangAfter is not null)
        {
            Hanging.Release();
            await Task.Delay(Timeout.Infinite, _stop.Token);
        }
    }

    private static async Task<string?> ReadHeadAsync(NetworkStream stream)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (bytes.Count < 64 * 1024)
        {
            if (await stream.ReadAsync(one) == 0)
            {
                return null;
            }

            bytes.Add(one[0]);
            if (bytes.Count >= 4 && bytes[^1] == '\n' && bytes[^2] == '\r' && bytes[^3] == '\n' && bytes[^4] == '\r')
            {
                return Encoding.ASCII.GetString(bytes.ToArray(), 0, bytes.Count - 4);
            }
        }

        return null;
    }

    private static async Task CopyExactlyAsync(Stream from, Stream to, long length)
    {
        var buffer = new byte[1 << 16];
        while (length > 0)
        {
            var read = await from.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, length)));
            if (read == 0)
            {
                throw new IOException("request body ended early");
            }

            await to.WriteAsync(buffer.AsMemory(0, read));
            length -= read;
        }
    }

    private static async Task WriteHeadAsync(NetworkStream stream, int status, string reason, Dictionary<string, string> headers)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n");
        foreach (var (key, value) in headers)
        {
            text.Append(CultureInfo.InvariantCulture, $"{key}: {value}\r\n");
        }

        text.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(text.ToString()));
    }
}
