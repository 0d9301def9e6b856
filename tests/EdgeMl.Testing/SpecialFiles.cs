using System.Diagnostics;

namespace EdgeMl.Testing;

/// <summary>File system objects a hostile registry folder can hold instead of files.</summary>
public static class SpecialFiles
{
    /// <summary>Creates a named pipe with no writer: opening it for reading the ordinary way blocks for ever.</summary>
    public static void MakeFifo(string path)
    {
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [path]) { RedirectStandardError = true })
            ?? throw new InvalidOperationException("mkfifo did not start");
        mkfifo.WaitForExit();
        if (mkfifo.ExitCode != 0)
        {
            throw new InvalidOperationException($"mkfifo {path} failed: {mkfifo.StandardError.ReadToEnd()}");
        }
    }

    /// <summary>Replaces <paramref name="path"/> with a symbolic link to <paramref name="target"/>.</summary>
    public static void Link(string path, string target)
    {
        File.Delete(path);
        File.CreateSymbolicLink(path, target);
    }
}
