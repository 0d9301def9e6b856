using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;

namespace EdgeMl.Benchmarks;

/// <summary>
/// Garbage collections by generation and bytes allocated in another .NET process, from its EventPipe (the runtime's
/// GC events over the diagnostics port, what <c>dotnet-trace</c> reads): the agent under test is not changed to be
/// measured. Allocations come from the runtime's allocation ticks (one about every 100 KB), so a phase needs a few MB
/// of allocations for the figure to mean something.
/// </summary>
internal sealed class ServerGcWatch : IDisposable
{
    private readonly EventPipeSession _session;
    private readonly Thread _reader;
    private readonly long[] _collections = new long[3];
    private readonly Dictionary<string, long> _byType = new(StringComparer.Ordinal);
    private long _allocated;

    public ServerGcWatch(int pid)
    {
        var client = new DiagnosticsClient(pid);
        _session = client.StartEventPipeSession(
            [new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose, (long)ClrTraceEventParser.Keywords.GC)],
            requestRundown: false);
        var source = new EventPipeEventSource(_session.EventStream);
        source.Clr.GCStart += e => Interlocked.Increment(ref _collections[Math.Clamp(e.Depth, 0, 2)]);
        source.Clr.GCAllocationTick += e =>
        {
            Interlocked.Add(ref _allocated, e.AllocationAmount64);
            lock (_byType)
            {
                // A tick names the type whose allocation crossed the 100 KB mark: over thousands of requests the
                // bytes each type is charged with approach what it allocates.
                _byType[e.TypeName ?? "?"] = _byType.GetValueOrDefault(e.TypeName ?? "?") + e.AllocationAmount64;
            }
        };
        _reader = new Thread(() => source.Process()) { IsBackground = true, Name = "gc-watch" };
        _reader.Start();
    }

    /// <summary>Bytes charged to each type so far, by the allocation ticks.</summary>
    public Dictionary<string, long> ByType()
    {
        lock (_byType)
        {
            return new Dictionary<string, long>(_byType, StringComparer.Ordinal);
        }
    }

    public Snapshot Now() => new(Interlocked.Read(ref _collections[0]), Interlocked.Read(ref _collections[1]), Interlocked.Read(ref _collections[2]), Interlocked.Read(ref _allocated));

    public void Dispose()
    {
        try
        {
            _session.Stop();
        }
        catch (ServerNotAvailableException)
        {
            // The agent has gone; the session went with it.
        }

        _reader.Join(TimeSpan.FromSeconds(10));
        _session.Dispose();
    }

    internal readonly record struct Snapshot(long Gen0, long Gen1, long Gen2, long Allocated)
    {
        public static Snapshot operator -(Snapshot a, Snapshot b) => new(a.Gen0 - b.Gen0, a.Gen1 - b.Gen1, a.Gen2 - b.Gen2, a.Allocated - b.Allocated);
    }
}
