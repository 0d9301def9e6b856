using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace EdgeMl.Agent.Tests.Grpc;

/// <summary>
/// Cleartext HTTP/2 spoken by hand, for what .NET's client cannot show: the server's SETTINGS as sent, and a request
/// in one DATA frame larger than 16 KB (SocketsHttpHandler always sends 16 KB frames). One unary gRPC call, stream 1.
/// </summary>
internal sealed class RawHttp2 : IDisposable
{
    public const ushort MaxConcurrentStreamsSetting = 0x3;
    public const ushort InitialWindowSizeSetting = 0x4;
    public const ushort MaxFrameSizeSetting = 0x5;

    private const byte Data = 0x0;
    private const byte Headers = 0x1;
    private const byte RstStream = 0x3;
    private const byte SettingsFrame = 0x4;
    private const byte GoAway = 0x7;
    private const byte WindowUpdate = 0x8;
    private const byte EndStream = 0x1;
    private const byte EndHeaders = 0x4;
    private const byte Ack = 0x1;

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly string _authority;

    private RawHttp2(TcpClient tcp, string authority)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _authority = authority;
    }

    /// <summary>What the server's first SETTINGS frame said, by identifier.</summary>
    public Dictionary<ushort, long> Settings { get; } = [];

    /// <summary>The connection's flow-control window: the protocol's 65,535 and the server's first WINDOW_UPDATE on stream 0.</summary>
    public long ConnectionWindow { get; private set; } = 65_535;

    /// <summary>Connects, sends the preface and empty SETTINGS, and reads the server's SETTINGS and its connection WINDOW_UPDATE.</summary>
    public static async Task<RawHttp2> ConnectAsync(Uri address)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port, timeout.Token);
        var connection = new RawHttp2(tcp, $"{address.Host}:{address.Port}");
        await connection._stream.WriteAsync(Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), timeout.Token);
        await connection.WriteFrameAsync(SettingsFrame, 0, 0, []);
        var (type, flags, _, payload) = await connection.ReadFrameAsync(timeout.Token);
        Assert.Equal((SettingsFrame, (byte)0), (type, flags));
        for (var i = 0; i + 6 <= payload.Length; i += 6)
        {
            connection.Settings[BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(i))] = BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(i + 2));
        }

        await connection.WriteFrameAsync(SettingsFrame, Ack, 0, []);
        while (true)
        {
            (type, flags, var stream, payload) = await connection.ReadFrameAsync(timeout.Token);
            if (type == WindowUpdate && stream == 0)
            {
                connection.ConnectionWindow += BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7FFF_FFFF;
            }
            else if (type == SettingsFrame && (flags & Ack) != 0)
            {
                return connection;
            }
        }
    }

    /// <summary>One unary call on stream 1: the message in one DATA frame; the answer's message without its 5-byte prefix.</summary>
    public async Task<byte[]> UnaryAsync(string path, byte[] message)
    {
        var block = new MemoryStream();
        foreach (var (name, value) in new[] { (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", _authority), ("content-type", "application/grpc"), ("te", "trailers") })
        {
            // A literal header field without indexing, new name, no Huffman coding (RFC 7541, 6.2.2); every length < 127.
            block.WriteByte(0);
            block.WriteByte((byte)name.Length);
            block.Write(Encoding.ASCII.GetBytes(name));
            block.WriteByte((byte)value.Length);
            block.Write(Encoding.ASCII.GetBytes(value));
        }

        await WriteFrameAsync(Headers, EndHeaders, 1, block.ToArray());
        var data = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(1), (uint)message.Length);
        message.CopyTo(data, 5);
        await WriteFrameAsync(Data, EndStream, 1, data);

        var answer = new MemoryStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var (type, flags, stream, payload) = await ReadFrameAsync(timeout.Token);
            Assert.False(type == GoAway, $"the server ended the connection (GOAWAY, error {(payload.Length >= 8 ? BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(4)) : 0)})");
            Assert.False(type == RstStream && stream == 1, "the server reset the stream");
            if (stream != 1)
            {
                continue;
            }

            if (type == Data)
            {
                answer.Write(payload);
            }

            if ((flags & EndStream) != 0)
            {
                break;
            }
        }

        var bytes = answer.ToArray();
        Assert.True(bytes.Length >= 5, "the call was answered without a message (an error in its trailers)");
        Assert.Equal(bytes.Length - 5, (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(1)));
        return bytes[5..];
    }

    public void Dispose()
    {
        _stream.Dispose();
        _tcp.Dispose();
    }

    private async Task WriteFrameAsync(byte type, byte flags, int stream, byte[] payload)
    {
        var header = new byte[9];
        header[0] = (byte)(payload.Length >> 16);
        header[1] = (byte)(payload.Length >> 8);
        header[2] = (byte)payload.Length;
        header[3] = type;
        header[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(5), stream);
        await _stream.WriteAsync(header);
        await _stream.WriteAsync(payload);
    }

    private async Task<(byte Type, byte Flags, int Stream, byte[] Payload)> ReadFrameAsync(CancellationToken cancellationToken = default)
    {
        var header = new byte[9];
        await _stream.ReadExactlyAsync(header, cancellationToken);
        var payload = new byte[(header[0] << 16) | (header[1] << 8) | header[2]];
        await _stream.ReadExactlyAsync(payload, cancellationToken);
        return (header[3], header[4], BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & 0x7FFF_FFFF, payload);
    }
}
