using System.Diagnostics;
using Xunit;

namespace EdgeMl.Testing;

/// <summary>A small tmpfs mounted for a full-disk test (needs root); unmounted and removed on dispose.</summary>
public sealed class SmallDisk : IDisposable
{
    private static readonly Lazy<string?> Refusal = new(Probe);

    private SmallDisk(string path) => Path = path;

    public string Path { get; }

    /// <summary>Why a tmpfs cannot be mounted here, or null when it can.</summary>
    public static string? Unavailable() => Refusal.Value;

    public static SmallDisk Mount(long bytes)
    {
        var path = Directory.CreateTempSubdirectory("edgeml-smalldisk-").FullName;
        var error = Run("mount", "-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", path);
        if (error is not null)
        {
            Directory.Delete(path);
            throw new InvalidOperationException($"mount refused: {error}");
        }

        return new SmallDisk(path);
    }

    public void Dispose()
    {
        Run("umount", "-l", Path);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string? Probe()
    {
        try
        {
            using var disk = Mount(64 * 1024);
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
        {
            return $"cannot mount a tmpfs here ({e.Message.Trim()}); the full-disk test needs root and mount rights";
        }
    }

    private static string? Run(string command, params string[] args)
    {
        var info = new ProcessStartInfo(command) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? null : $"{command} exited {process.ExitCode}: {stderr}";
    }
}

/// <summary>A fact that mounts a tmpfs; skipped, with the reason, where mounting is refused.</summary>
public sealed class SmallDiskFactAttribute : FactAttribute
{
    public SmallDiskFactAttribute()
    {
        if (SmallDisk.Unavailable() is { } reason)
        {
            Skip = reason;
        }
    }
}
