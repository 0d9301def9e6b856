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
        services.AddOptionsWithValidateOnStart<UploadOptions>().Bind(configuration.GetSection(UploadOptions.Section));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UploadOptions>, UploadOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UploadOptions>, UploadOptionsRules>());
        services.TryAddSingleton<UploadMetrics>();
        services.TryAddSingleton<ICaptureBlobSink>(sp => AzureBlobCaptureSink.Create(sp.GetRequiredService<IOptions<UploadOptions>>().Value));
        services.TryAddSingleton<CaptureUploader>();
        services.TryAddSingleton<ICaptureUploadTrigger>(sp => sp.GetRequiredService<CaptureUploader>());
        services.AddHostedService(sp => sp.GetRequiredService<CaptureUploader>());
        return services;
    }
}
