using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace EdgeMl.Runtime.Providers;

/// <summary>
/// Asks the dynamic loader itself which native libraries are present: a library's own list of the libraries it needs
/// (its ELF <c>DT_NEEDED</c> entries) and whether each loads, with the loader's reason when it does not. Never spawns
/// a tool (<c>ldd</c>, <c>nvidia-smi</c>): devices run minimal images, and a probe must not depend on what they carry.
/// </summary>
internal static class NativeLibraries
{
    /// <summary>The C and C++ runtime every Linux image has; not worth probing or reporting.</summary>
    private static readonly HashSet<string> SystemLibraries = new(StringComparer.Ordinal)
    {
        "libc.so.6", "libm.so.6", "libdl.so.2", "librt.so.1", "libpthread.so.0", "libstdc++.so.6", "libgcc_s.so.1",
        "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1",
    };

    /// <summary>Whether the loader finds and loads <paramref name="library"/> (a name searched as the loader does, or a path).</summary>
    /// <param name="error">The loader's reason when it does not, such as <c>libcublasLt.so.13: cannot open shared object file: No such file or directory</c>.</param>
    public static bool TryLoad(string library, out string? error)
    {
        try
        {
            // Loaded and released at once: a probe must not keep hundreds of megabytes of CUDA mapped; ONNX Runtime
            // loads what it uses itself.
            NativeLibrary.Free(NativeLibrary.Load(library));
            error = null;
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            error = LoaderReason(e.Message);
            return false;
        }
    }

    /// <summary>The libraries <paramref name="path"/> needs by name (its <c>DT_NEEDED</c> entries), without the C and C++ runtime; empty when it is not a readable 64-bit ELF file.</summary>
    public static IReadOnlyList<string> Needed(string path)
    {
        try
        {
            // Only the headers and the dynamic section are read: a CUDA provider library is some 300 MB.
            using var file = File.OpenHandle(path);
            return ReadNeeded((offset, length) =>
            {
                var buffer = new byte[length];
                return RandomAccess.Read(file, buffer, offset) == length ? buffer : throw new InvalidDataException("truncated ELF file");
            }).Where(n => !SystemLibraries.Contains(n)).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException or InvalidDataException or OverflowException)
        {
            return [];
        }
    }

    /// <summary>
    /// .NET wraps the loader's message in advice about strace and LD_DEBUG; the loader's own words come last and
    /// are what an operator can act on.
    /// </summary>
    internal static string LoaderReason(string message)
    {
        var lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length > 1 ? lines[^1] : message.Trim();
    }

    /// <summary>The <c>DT_NEEDED</c> names of a little-endian ELF64 shared object, read from its section headers.</summary>
    /// <param name="read">Reads <c>length</c> bytes at <c>offset</c> of the file.</param>
    /// <exception cref="InvalidDataException">Not an ELF64 little-endian file.</exception>
    internal static List<string> ReadNeeded(Func<long, int, byte[]> read)
    {
        const int ElfClass64 = 2;
        const int ElfDataLittle = 1;
        const uint SectionDynamic = 6;
        const long TagNeeded = 1;
        ReadOnlySpan<byte> elf = read(0, 64);
        if (elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F' || elf[4] != ElfClass64 || elf[5] != ElfDataLittle)
        {
            throw new InvalidDataException("not a little-endian 64-bit ELF file");
        }

        var sectionTable = (long)BinaryPrimitives.ReadUInt64LittleEndian(elf[0x28..]);
        int sectionSize = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3A..]);
        int sectionCount = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3C..]);
        var sections = read(sectionTable, sectionSize * sectionCount);
        var needed = new List<string>();
        for (var i = 0; i < sectionCount; i++)
        {
            var header = sections.AsSpan(i * sectionSize, sectionSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header[0x04..]) != SectionDynamic)
            {
                continue;
            }

            var dynamic = read((long)BinaryPrimitives.ReadUInt64LittleEndian(header[0x18..]), checked((int)BinaryPrimitives.ReadUInt64LittleEndian(header[0x20..])));
            var stringsHeader = sections.AsSpan(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(header[0x28..]) * sectionSize), sectionSize);
            var strings = read((long)BinaryPrimitives.ReadUInt64LittleEndian(stringsHeader[0x18..]), checked((int)BinaryPrimitives.ReadUInt64LittleEndian(stringsHeader[0x20..])));
            for (var entry = 0; entry + 16 <= dynamic.Length; entry += 16)
            {
                var tag = BinaryPrimitives.ReadInt64LittleEndian(dynamic.AsSpan(entry));
                if (tag == 0)
                {
                    break;
                }

                if (tag == TagNeeded)
                {
                    var name = strings.AsSpan(checked((int)BinaryPrimitives.ReadUInt64LittleEndian(dynamic.AsSpan(entry + 8))));
                    var end = name.IndexOf((byte)0);
                    needed.Add(System.Text.Encoding.ASCII.GetString(end < 0 ? throw new InvalidDataException("unterminated library name") : name[..end]));
                }
            }
        }

        return needed;
    }
}
