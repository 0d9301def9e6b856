using EdgeMl.Agent.Cli;
using EdgeMl.CloudSync.Registries;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.Cli;

/// <summary>The transfer progress bar as a terminal gets it: many partial reports of one file, then the next file.</summary>
public sealed class ConsoleProgressTests : IDisposable
{
    private readonly TestPackages.TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Report_MultiChunkFilesOnATerminal_DrawsEachBarToOneHundredPercent()
    {
        var first = await WriteFileAsync("model.onnx", 1_000_000);
        var second = await WriteFileAsync("golden.bin", 300_000);
        using var terminal = new StringWriter();
        var progress = new ConsoleProgress(terminal, interactive: true);

        // Read as publish reads a package: through a progress stream, in chunks far smaller than the file.
        foreach (var (path, name) in new[] { (first, "cls/1/model.onnx"), (second, "cls/1/golden.bin") })
        {
            await using var stream = new ProgressStream(File.OpenRead(path), name, new FileInfo(path).Length, progress);
            await stream.CopyToAsync(Stream.Null, bufferSize: 16 * 1024);
        }

        var text = terminal.ToString();
        var lines = text.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("\rcls/1/model.onnx [", lines[0], StringComparison.Ordinal);
        Assert.Matches(@"\rcls/1/model\.onnx \[#{30}\] +100 ?% 1\.0/1\.0 MB( [0-9.]+ MB/s)?\x1b\[K$", lines[0]);
        Assert.Matches(@"\rcls/1/golden\.bin \[#{30}\] +100 ?% 0\.3/0\.3 MB( [0-9.]+ MB/s)?\x1b\[K$", lines[1]);
    }

    [Fact]
    public void Report_NotATerminal_WritesNothing()
    {
        using var redirected = new StringWriter();
        var progress = new ConsoleProgress(redirected, interactive: false);

        progress.Report(new DownloadProgress("cls/1/model.onnx", 10, 100));
        progress.Report(new DownloadProgress("cls/1/model.onnx", 100, 100));

        Assert.Empty(redirected.ToString());
    }

    private async Task<string> WriteFileAsync(string name, int length)
    {
        var path = _temp.Sub(name);
        await File.WriteAllBytesAsync(path, new byte[length]);
        return path;
    }
}
