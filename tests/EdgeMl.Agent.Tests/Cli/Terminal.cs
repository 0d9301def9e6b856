using System.Diagnostics;
using System.Text;
using EdgeMl.Testing.Distribution;

namespace EdgeMl.Agent.Tests.Cli;

/// <summary>
/// A command run as a person runs it, in a terminal: util-linux <c>script</c> gives it a pseudo-terminal for stdin,
/// stdout and stderr, so whatever draws on a terminal draws, and Ctrl+C is the terminal's own interrupt.
/// </summary>
internal sealed class Terminal : IAsyncDisposable
{
    private readonly Process _script;
    private readonly StringBuilder _output = new();
    private readonly Task _reading;

    private Terminal(Process script)
    {
        _script = script;
        _reading = Task.Run(async () =>
        {
            // Characters, not lines: a progress bar redraws with carriage returns.
            var buffer = new char[4096];
            int read;
            while ((read = await script.StandardOutput.ReadAsync(buffer)) > 0)
            {
                lock (_output)
                {
                    _output.Append(buffer, 0, read);
                }
            }
        });
    }

    /// <summary>Everything the terminal showed so far, line ends as a terminal sends them (\r\n).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public bool HasExited => _script.HasExited;

    /// <summary>Starts <paramref name="arguments"/> (quoted for the shell here) in a new pseudo-terminal.</summary>
    public static Terminal Start(IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("script")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // -q no banner, -e the command's exit code, -c the command; the typescript file is thrown away. script runs
        // the command through $SHELL -c: exec makes the command itself the terminal's foreground process, as when a
        // person types it at an interactive shell. Without it a non-interactive dash stays in between and, after a
        // Ctrl+C, ends with 130 whatever the command's own exit code was.
        foreach (var arg in new[] { "-qec", "exec " + string.Join(' ', arguments.Select(Quote)), "/dev/null" })
        {
            info.ArgumentList.Add(arg);
        }

        // An interactive shell gives its foreground command Ctrl+C at its default, whatever launched the suite.
        EdgeMlProcess.WithInterruptAtDefault(info);

        // The same shell wherever the tests run: CI sessions differ in their SHELL (bash here, unset or sh elsewhere).
        info.Environment["SHELL"] = "/bin/sh";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return new Terminal(Process.Start(info) ?? throw new InvalidOperationException("script did not start (util-linux)"));
    }

    /// <summary>The real <c>edgeml</c> (edgeml.dll beside the tests) with <paramref name="args"/>, in a terminal, to its end.</summary>
    public static async Task<(int Code, string Output)> EdgeMlAsync(string workingDirectory, params string[] args)
    {
        var start = EdgeMlProcess.StartInfo(args);
        await using var terminal = Start([start.FileName, .. start.ArgumentList], workingDirectory);
        var code = await terminal.WaitForExitAsync(TimeSpan.FromMinutes(3));
        return (code, terminal.Output);
    }

    /// <summary>Ctrl+C typed at the terminal: the line discipline interrupts the foreground process group.</summary>
    public async Task InterruptAsync()
    {
        await _script.StandardInput.WriteAsync('\u0003');
        await _script.StandardInput.FlushAsync();
    }

    public async Task<int> WaitForExitAsync(TimeSpan guard)
    {
        using var timeout = new CancellationTokenSource(guard);
        try
        {
            await _script.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the command did not finish within {guard}; the terminal showed:\n{Output}");
        }

        await _reading;
        return _script.ExitCode;
    }

    /// <summary>Waits until the terminal shows <paramref name="text"/>; fails with what it showed if the command ends first.</summary>
    public async Task WaitForAsync(string text, TimeSpan guard)
    {
        var until = Stopwatch.StartNew();
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (_script.HasExited || until.Elapsed > guard)
            {
                throw new InvalidOperationException($"the terminal never showed \"{text}\" ({(_script.HasExited ? $"exited {_script.ExitCode}" : $"{guard} passed")}):\n{Output}");
            }

            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_script.HasExited)
        {
            _script.Kill(entireProcessTree: true);
            await _script.WaitForExitAsync();
        }

        _script.Dispose();
    }

    private static string Quote(string arg) => "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
