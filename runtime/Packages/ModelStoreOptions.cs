using System.ComponentModel.DataAnnotations;

namespace EdgeMl.Runtime.Packages;

/// <summary>Where and how the device keeps model versions.</summary>
public sealed class ModelStoreOptions
{
    /// <summary>The data directory; models live in <c>models/</c>, downloads in progress in <c>downloads/</c>.</summary>
    [Required]
    public string DataDirectory { get; set; } = "";

    /// <summary>Versions kept beyond the active and the previous good one.</summary>
    [Range(0, 100)]
    public int KeepExtraVersions { get; set; } = 1;

    /// <summary>Free space that must remain after a download, on top of the package size.</summary>
    [Range(0, long.MaxValue)]
    public long FreeSpaceMarginBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>Free bytes on the volume holding a path; replaceable so tests can simulate a full disk.</summary>
    public Func<string, long> FreeSpaceProbe { get; set; } = path => new DriveInfo(Path.GetFullPath(path)).AvailableFreeSpace;
}
