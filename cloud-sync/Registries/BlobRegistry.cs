using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace EdgeMl.CloudSync.Registries;

/// <summary>
/// A registry in an Azure Blob Storage container (or Azurite), through Azure.Storage.Blobs. Documents are streamed
/// and capped while they arrive, never downloaded whole first, and watched for stalls.
/// </summary>
internal sealed class BlobRegistry(BlobContainerClient container, DownloadOptions limits, TimeProvider time) : IModelRegistry
{
    public string Description => container.Uri.GetLeftPart(UriPartial.Path);

    public Task<byte[]?> TryReadAsync(string path, long maxBytes, CancellationToken cancellationToken) =>
        BoundedRead.WatchAsync(limits, time, $"{path} in {Description}", async watchdog =>
        {
            try
            {
                var blob = container.GetBlobClient(path);
                var response = await blob.DownloadStreamingAsync(cancellationToken: watchdog.Token).ConfigureAwait(false);
                using var result = response.Value;
                if (result.Details.ContentLength > maxBytes)
                {
                    throw new RegistryException(RegistryFailure.TooLarge, $"{path} in {Description} has {result.Details.ContentLength} bytes; at most {maxBytes} expected");
                }

                return (byte[]?)await BoundedRead.ReadAllAsync(result.Content, maxBytes, watchdog, $"{path} in {Description}").ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                return null;
            }
            catch (RequestFailedException e)
            {
                throw Map(e, path);
            }
        }, cancellationToken);

    public async Task<RegistryContent> OpenReadAsync(string path, long offset, CancellationToken cancellationToken)
    {
        try
        {
            var blob = container.GetBlobClient(path);
            var options = new BlobDownloadOptions { Range = new HttpRange(offset) };
            var result = await blob.DownloadStreamingAsync(options, cancellationToken).ConfigureAwait(false);
            return new RegistryContent(result.Value.Content, offset, result.Value);
        }
        catch (RequestFailedException e) when (e.Status == 416)
        {
            return new RegistryContent(Stream.Null, offset);
        }
        catch (RequestFailedException e)
        {
            throw Map(e, path);
        }
    }

    public async Task WriteAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        try
        {
            await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await container.GetBlobClient(path).UploadAsync(content, overwrite: true, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e)
        {
            throw Map(e, path);
        }
    }

    private RegistryException Map(RequestFailedException e, string path)
    {
        var failure = e.Status switch
        {
            404 => RegistryFailure.NotFound,
            401 or 403 => RegistryFailure.Denied,
            _ => RegistryFailure.Unavailable,
        };
        return new RegistryException(failure, $"{Description} failed for {path}: {e.Status} {e.ErrorCode}", e);
    }
}
