using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EdgeMl.CloudSync.Upload;

public static class UploadServiceCollectionExtensions
{
    /// <summary>
    /// The capture uploader from the <c>Upload</c> section of <paramref name="configuration"/>, validated at start.
    /// The caller registers the <see cref="ICaptureUploadSource"/> (the agent's capture store); the uploader runs as a
    /// hosted service and is woken through <see cref="ICaptureUploadTrigger"/> when records arrive or the network comes back.
    /// </summary>
    public static IServiceCollection AddCaptureUpload(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptionsWithValidateOnStart<UploadOptions>().Bind(configuration.GetSection(UploadOptions.Section)).ValidateDataAnnotations()
            .Validate(o => !o.Enabled || o.ConnectionString is not null || o.ContainerUri is not null, "Upload needs a ConnectionString or a ContainerUri")
            .Validate(o => o.RetryMinDelay <= o.RetryMaxDelay, "Upload:RetryMinDelay must not exceed Upload:RetryMaxDelay")
            .Validate(o => o.ConnectionString is null || IsConnectionString(o.ConnectionString), "Upload:ConnectionString is not a storage connection string (AccountName=…;AccountKey=…;… or UseDevelopmentStorage=true)")
            .Validate(o => o.ContainerUri is null || (o.ContainerUri.IsAbsoluteUri && o.ContainerUri.Scheme is "https" or "http"), "Upload:ContainerUri must be an https:// container URL (with a SAS)");
        services.TryAddSingleton<UploadMetrics>();
        services.TryAddSingleton<ICaptureBlobSink>(sp => AzureBlobCaptureSink.Create(sp.GetRequiredService<IOptions<UploadOptions>>().Value));
        services.TryAddSingleton<CaptureUploader>();
        services.TryAddSingleton<ICaptureUploadTrigger>(sp => sp.GetRequiredService<CaptureUploader>());
        services.AddHostedService(sp => sp.GetRequiredService<CaptureUploader>());
        return services;
    }

    /// <summary>The storage SDK's own parse, so what passes here is what the uploader can use; the value itself is never echoed (it holds the key).</summary>
    private static bool IsConnectionString(string value)
    {
        try
        {
            _ = new BlobServiceClient(value);
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }
}
