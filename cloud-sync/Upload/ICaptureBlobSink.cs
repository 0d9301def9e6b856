using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace EdgeMl.CloudSync.Upload;

/// <summary>The outcome of a blob operation; an unreachable or failing service is an expected result, not a throw.</summary>
internal readonly record struct SinkResult(bool Succeeded, string? Error)
{
    public static SinkResult Ok { get; } = new(true, null);

    public static SinkResult Failed(string error) => new(false, error);
}

/// <summary>Where batches go.</summary>
internal interface ICaptureBlobSink
{
    /// <summary>Writes (or overwrites) the blob; succeeded means the service acknowledged the whole content.</summary>
    Task<SinkResult> UploadAsync(string path, Stream content, CancellationToken cancellationToken);

    /// <summary>A cheap request that tells whether the service answers.</summary>
    Task<SinkResult> ProbeAsync(CancellationToken cancellationToken);
}

/// <summary>Azure Blob Storage (or Azurite) through Azure.Storage.Blobs.</summary>
internal sealed class AzureBlobCaptureSink : ICaptureBlobSink
{
    private readonly BlobContainerClient _container;
    private volatile bool _containerReady;

    public AzureBlobCaptureSink(BlobContainerClient container) => _container = container ?? throw new ArgumentNullException(nameof(container));

    public static AzureBlobCaptureSink Create(UploadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // The uploader backs off and probes itself; the SDK's own long retries would hide a returning link.
        var clientOptions = new BlobClientOptions();
        clientOptions.Retry.MaxRetries = 1;
        clientOptions.Retry.Delay = TimeSpan.FromMilliseconds(200);
        clientOptions.Retry.NetworkTimeout = TimeSpan.FromSeconds(100);
        var container = options.ContainerUri is { } uri
            ? new BlobContainerClient(uri, clientOptions)
            : new BlobContainerClient(
                options.ConnectionString ?? throw new InvalidOperationException("Upload needs a ConnectionString or a ContainerUri."),
                options.Container,
                clientOptions);
        return new AzureBlobCaptureSink(container);
    }

    public async Task<SinkResult> UploadAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        try
        {
            await EnsureContainerAsync(cancellationToken);
            await _container.GetBlobClient(path).UploadAsync(
                content,
                new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "application/vnd.apache.parquet" } },
                cancellationToken);
            return SinkResult.Ok;
        }
        catch (Exception e) when (IsExpected(e, cancellationToken))
        {
            // The service may have come back without the container (emulators, a recreated account).
            _containerReady = false;
            return SinkResult.Failed(e.Message);
        }
    }

    public async Task<SinkResult> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _container.ExistsAsync(cancellationToken);
            return SinkResult.Ok;
        }
        catch (Exception e) when (IsExpected(e, cancellationToken))
        {
            return SinkResult.Failed(e.Message);
        }
    }

    private static bool IsExpected(Exception e, CancellationToken cancellationToken) =>
        e is RequestFailedException or HttpRequestException or IOException or AggregateException
        || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (!_containerReady)
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            _containerReady = true;
        }
    }
}
