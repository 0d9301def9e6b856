using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EdgeMl.CloudSync.Upload;

/// <summary>
/// Registration of the capture uploader. The agent registers the <see cref="ICaptureUploadSource"/> (its capture
/// store); the uploader runs as a hosted service and can be woken (<see cref="CaptureUploader.Wake"/>) when
/// records arrive or the network comes back.
/// </summary>
internal static class UploadServiceCollectionExtensions
{
    public static IServiceCollection AddCaptureUpload(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptionsWithValidateOnStart<UploadOptions>().Bind(configuration.GetSection(UploadOptions.Section)).ValidateDataAnnotations()
            .Validate(o => !o.Enabled || o.ConnectionString is not null || o.ContainerUri is not null, "Upload needs a ConnectionString or a ContainerUri")
            .Validate(o => o.RetryMinDelay <= o.RetryMaxDelay, "Upload:RetryMinDelay must not exceed Upload:RetryMaxDelay");
        services.TryAddSingleton<UploadMetrics>();
        services.TryAddSingleton<ICaptureBlobSink>(sp => AzureBlobCaptureSink.Create(sp.GetRequiredService<IOptions<UploadOptions>>().Value));
        services.TryAddSingleton<CaptureUploader>();
        services.AddHostedService(sp => sp.GetRequiredService<CaptureUploader>());
        return services;
    }
}
