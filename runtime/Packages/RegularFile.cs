using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace EdgeMl.Runtime.Packages;

/// <summary>Why <see cref="RegularFile.OpenRead"/> refused a path.</summary>
public enum FileRefusal
{
    /// <summary>The path's last step is a symbolic link.</summary>
    Link,

    /// <summary>A FIFO, a device, a socket or a directory: something that could block, never end, or is no file.</summary>
    NotRegular,
}

/// <summary>A path that is not a plain regular file; the message never describes what it points to.</summary>
public sealed class NotRegularFileException(FileRefusal refusal, string message) : IOException(message)
{
    public FileRefusal Refusal { get; } = refusal;
}

/// <summary>
/// Opens files that must be plain regular files, for content that someone else controls (a folder registry on a
/// share or a USB stick). The open itself never blocks (a FIFO without a writer would hold <c>open()</c> forever)
/// and never follows a link in the last step; the type is checked on the opened descriptor, so nothing can be
/// swapped in between the check and the read.
/// </summary>
public static partial class RegularFile
{
    private const int ENOENT = 2;
    private const int ENXIO = 6;
    private const int ENOTDIR = 20;
    private const int ELOOP = 40;
    private const int O_NONBLOCK = 0x800;
    private const int O_CLOEXEC = 0x80000;
    private const int AT_EMPTY_PATH = 0x1000;
    private const uint STATX_TYPE = 0x1;
    private const int S_IFMT = 0xF000;
    private const int S_IFREG = 0x8000;

    // The one open flag that differs between the architectures devices run on.
    private static readonly int O_NOFOLLOW =
        RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Arm64 ? 0x8000 : 0x20000;

    /// <summary>Opens <paramref name="path"/> for reading, or returns null when nothing is there.</summary>
    /// <exception cref="NotRegularFileException">A link, FIFO, device, socket or directory.</exception>
    /// <exception cref="IOException">Any other failure to open.</exception>
    public static FileStream? OpenRead(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return OpenPortable(path);
        }

        var fd = Open(path, O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno switch
            {
                ENOENT or ENOTDIR => null,
                ELOOP => throw new NotRegularFileException(FileRefusal.Link, $"{path} is a link"),
                ENXIO => throw new NotRegularFileException(FileRefusal.NotRegular, $"{path} is not a regular file"),
                _ => throw new IOException($"{path} cannot be opened: {Marshal.GetPInvokeErrorMessage(errno)}"),
            };
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            if (Statx(fd, "", AT_EMPTY_PATH, STATX_TYPE, out var status) != 0)
            {
                throw new IOException($"{path} cannot be examined: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            }

            if ((status.Mode & S_IFMT) != S_IFREG)
            {
                throw new NotRegularFileException(FileRefusal.NotRegular, $"{path} is not a regular file");
            }

            // O_NONBLOCK has no effect on regular files, so the descriptor reads as any other.
            return new FileStream(handle, FileAccess.Read, bufferSize: 0, isAsync: false);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static FileStream? OpenPortable(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null)
        {
            throw new NotRegularFileException(FileRefusal.Link, $"{path} is a link");
        }

        return info.Exists ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true) : null;
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, out StatxBuffer buffer);

    // struct statx has the same layout on every Linux architecture; only stx_mode is read.
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct StatxBuffer
    {
        [FieldOffset(28)]
        public ushort Mode;
    }
}
