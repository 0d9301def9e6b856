using EdgeMl.Runtime.Packages;

namespace EdgeMl.CloudSync.Registries;

/// <summary>A registry in a local folder: air-gapped sites, a USB stick, a network share.</summary>
internal sealed class FolderRegistry(string root) : IModelRegistry
{
    private readonly string _root = Path.GetFullPath(root);

    public string Description => _root;

    public async Task<byte[]?> TryReadAsync(string path, long maxBytes, CancellationToken cancellationToken)
    {
        var full = Resolve(path);
        if (!File.Exists(full))
        {
            return null;
        }

        var length = new FileInfo(full).Length;
        return length > maxBytes
            ? throw new RegistryException(RegistryFailure.TooLarge, $"{path} in {_root} has {length} bytes; at most {maxBytes} expected")
            : await File.ReadAllBytesAsync(full, cancellationToken).ConfigureAwait(false);
    }

    public Task<RegistryContent> OpenReadAsync(string path, long offset, CancellationToken cancellationToken)
    {
        var full = Resolve(path);
        if (!File.Exists(full))
        {
            throw new RegistryException(RegistryFailure.NotFound, $"{path} is not in {_root}");
        }

        var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
        return Task.FromResult(new RegistryContent(stream, stream.Position));
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

    private string Resolve(string path) =>
        PackageVerifier.IsSafeRelativePath(path)
            ? Path.Combine(_root, path)
            : throw new RegistryException(RegistryFailure.Denied, $"registry path '{path}' is not a safe relative path");
}
