using EdgeMl.Runtime.Packages;

namespace EdgeMl.CloudSync.Registries;

/// <summary>
/// A registry in a local folder: air-gapped sites, a USB stick, a network share. Whoever writes the folder is not
/// trusted: only regular files inside it are read (a link, FIFO, device or socket is refused without blocking and
/// without saying what it points to), documents are capped while they are read, and reads are watched for stalls.
/// </summary>
internal sealed class FolderRegistry(string root, DownloadOptions limits, TimeProvider time) : IModelRegistry
{
    private readonly string _root = Path.GetFullPath(root);

    public string Description => _root;

    public Task<byte[]?> TryReadAsync(string path, long maxBytes, CancellationToken cancellationToken) =>
        BoundedRead.WatchAsync(limits, time, $"{path} in {_root}", async watchdog =>
        {
            var file = Open(path);
            if (file is null)
            {
                return null;
            }

            await using (file.ConfigureAwait(false))
            {
                return await BoundedRead.ReadAllAsync(file, maxBytes, watchdog, $"{path} in {_root}").ConfigureAwait(false);
            }
        }, cancellationToken);

    public Task<RegistryContent> OpenReadAsync(string path, long offset, CancellationToken cancellationToken)
    {
        var file = Open(path) ?? throw new RegistryException(RegistryFailure.NotFound, $"{path} is not in {_root}");
        file.Seek(Math.Min(offset, file.Length), SeekOrigin.Begin);
        return Task.FromResult(new RegistryContent(file, file.Position));
    }

    public async Task WriteAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var full = Resolve(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".uploading";
        await using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
        {
            await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, full, overwrite: true);
        Durable.FlushDirectory(Path.GetDirectoryName(full)!);
    }

    /// <returns>The open file, or null when there is none.</returns>
    private FileStream? Open(string path)
    {
        var full = Resolve(path);
        var step = _root;
        foreach (var segment in path.Split('/')[..^1])
        {
            step = Path.Combine(step, segment);
            var folder = new DirectoryInfo(step);
            if (folder.LinkTarget is not null)
            {
                throw Refused(path, "is reached through a link");
            }

            if (!folder.Exists)
            {
                return null;
            }
        }

        try
        {
            return RegularFile.OpenRead(full);
        }
        catch (NotRegularFileException e)
        {
            // Nothing about the target (its size, its kind beyond "not a file"): the folder's writer may be probing the device.
            throw Refused(path, e.Refusal == FileRefusal.Link ? "is a link" : "is not a regular file (a FIFO, device, socket or folder)");
        }
    }

    private RegistryException Refused(string path, string why) =>
        new(RegistryFailure.Denied, $"{path} in {_root} {why}; a folder registry serves only regular files inside it");

    private string Resolve(string path) =>
        PackageVerifier.IsSafeRelativePath(path)
            ? Path.Combine(_root, path)
            : throw new RegistryException(RegistryFailure.Denied, $"registry path '{path}' is not a safe relative path");
}
