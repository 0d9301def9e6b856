using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace EdgeMl.Agent.Grpc;

/// <summary>
/// The gRPC port's HTTP/2 and socket settings, sized for tensors: Kestrel's defaults suit web pages of a few KB,
/// and the classifier's request alone is 110 KB.
/// </summary>
/// <remarks>
/// The request size limit (<see cref="Http.HttpApiOptions.MaxRequestBodyBytes"/>, the gRPC maximum message size) is
/// not touched: a larger message is still RESOURCE_EXHAUSTED. The windows let a client send up to that limit without
/// waiting for a WINDOW_UPDATE; what the server holds for a call is bounded by the message limit as before.
/// </remarks>
internal static class GrpcTransport
{
    /// <summary>
    /// SETTINGS_MAX_FRAME_SIZE advertised (Kestrel's default is the protocol's 16 KB): a client that follows it (grpc
    /// C-core as in tritonclient, grpc-go, grpc-java) sends a request of up to 256 KB in one DATA frame instead of
    /// 16 KB pieces. Kept well under Kestrel's 1 MB connection read buffer, which must hold a whole frame.
    /// </summary>
    /// <remarks>.NET's SocketsHttpHandler sends 16 KB frames whatever is advertised.</remarks>
    public const int MaxFrameSize = 256 * 1024;

    /// <summary>Concurrent calls on one connection (Kestrel's default, said here): more are refused by HTTP/2 until one ends.</summary>
    public const int MaxStreamsPerConnection = 100;

    /// <summary>A gRPC message's length prefix: one flag byte and a 4-byte length, before each message on the stream.</summary>
    public const int MessagePrefix = 5;

    /// <summary>Kestrel's default windows (768 KB per stream, 1 MB per connection), the floor of what is advertised.</summary>
    private const int DefaultStreamWindow = 768 * 1024;
    private const int DefaultConnectionWindow = 1024 * 1024;

    /// <summary>The initial stream and connection windows for a largest message of <paramref name="maxMessage"/> bytes: the whole message and its prefix.</summary>
    public static (int Stream, int Connection) Windows(int maxMessage)
    {
        var whole = (int)Math.Min((long)maxMessage + MessagePrefix, int.MaxValue);
        return (Math.Max(DefaultStreamWindow, whole), Math.Max(DefaultConnectionWindow, whole));
    }

    public static void Apply(Http2Limits limits, int maxMessage)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var (stream, connection) = Windows(maxMessage);
        limits.MaxFrameSize = MaxFrameSize;
        limits.InitialStreamWindowSize = stream;
        limits.InitialConnectionWindowSize = connection;
        limits.MaxStreamsPerConnection = MaxStreamsPerConnection;
    }

    /// <summary>
    /// Reads straight into a buffer instead of a zero-byte read first: one receive call per 4 KB block instead of two,
    /// about 27 fewer system calls for the classifier's request; an idle connection holds a 4 KB block (a device has few).
    /// </summary>
    public static void Apply(SocketTransportOptions sockets)
    {
        ArgumentNullException.ThrowIfNull(sockets);
        sockets.WaitForDataBeforeAllocatingBuffer = false;
    }
}
