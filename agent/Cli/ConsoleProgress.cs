using System.Diagnostics;
using EdgeMl.CloudSync.Registries;

namespace EdgeMl.Agent.Cli;

/// <summary>A progress bar on stderr for long transfers; redrawn at most ten times a second, silent when stderr is not a terminal.</summary>
internal sealed class ConsoleProgress(TextWriter error, bool interactive) : IProgress<DownloadProgress>
{
    private const int Width = 30;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _gate = new();
    private TimeSpan? _lastDraw;
    private string? _path;
    private string? _finished;
    private long _startBytes;
    private TimeSpan _startTime;

    public static ConsoleProgress ForConsole() => new(Console.Error, !Console.IsErrorRedirected);

    public void Report(DownloadProgress value)
    {
        if (!interactive)
        {
            return;
        }

        lock (_gate)
        {
            var now = _clock.Elapsed;
            var done = value.Received >= value.Total;
            if (done && value.Path == _finished)
            {
                // A stream reports its end again on the last, empty read: the bar is drawn already.
                return;
            }

            if (value.Path != _path)
            {
                if (_path is not null)
                {
                    error.WriteLine();
                }

                (_path, _startBytes, _startTime, _lastDraw) = (value.Path, value.Received, now, null);
            }

            if (!done && _lastDraw is { } last && now - last < TimeSpan.FromMilliseconds(100))
            {
                return;
            }

            _lastDraw = now;
            var fraction = value.Total == 0 ? 1 : (double)value.Received / value.Total;
            var filled = (int)(fraction * Width);
            var seconds = (now - _startTime).TotalSeconds;
            var moved = value.Received - _startBytes;

            // No rate until there is one to measure: a file read in one chunk has none.
            var rate = moved > 0 && seconds > 0 ? $" {moved / seconds / 1e6:F1} MB/s" : "";
            error.Write($"\r{value.Path} [{new string('#', filled)}{new string('.', Width - filled)}] {fraction,4:P0} {value.Received / 1e6:F1}/{value.Total / 1e6:F1} MB{rate}\x1b[K");
            if (done)
            {
                error.WriteLine();
                (_path, _finished) = (null, value.Path);
            }
        }
    }
}
