using System.ComponentModel.DataAnnotations;
using EdgeMl.Agent.Drift;
using EdgeMl.Agent.Events;
using EdgeMl.CloudSync.Upload;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Capture;

/// <summary>
/// Registration of capture and drift. The host calls <see cref="AddCapture"/> (and cloud-sync's
/// <c>AddCaptureUpload</c> for the uploader), sets <see cref="CaptureStoreOptions.Path"/> under its data folder,
/// then calls <see cref="CaptureRecorder.Capture"/> after each prediction and
/// <see cref="DriftRegistry.Activate"/> / <see cref="DriftRegistry.Observe"/> as models are promoted and serve.
/// </summary>
internal static class CaptureServiceCollectionExtensions
{
    public static IServiceCollection AddCapture(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();

        services.AddOptionsWithValidateOnStart<CaptureSettings>().Bind(configuration.GetSection(CaptureSettings.Section));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CaptureSettings>, CaptureSettingsValidator>());
        services.AddOptionsWithValidateOnStart<DriftOptions>().Bind(configuration.GetSection(DriftOptions.Section)).ValidateDataAnnotations()
            .Validate(o => o.ModeratePsi <= o.SignificantPsi, "Drift:ModeratePsi must not exceed Drift:SignificantPsi");

        services.TryAddSingleton<CaptureMetrics>();
        services.TryAddSingleton<CaptureChannel>();
        services.TryAddSingleton(sp =>
        {
            var store = CaptureStore.Open(
                sp.GetRequiredService<IOptions<CaptureSettings>>().Value.Store,
                sp.GetRequiredService<CaptureMetrics>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILoggerFactory>().CreateLogger<CaptureStore>());
            // A corrupt database moved aside is reported where operators look (MQTT events, the diagnostics page),
            // not only in the log.
            if (store.Startup.MovedAsideTo is { } movedTo)
            {
                sp.GetService<AgentEventLog>()?.Add(AgentEventKinds.CaptureStoreReplaced, null, null,
                    $"capture store was corrupt ({store.Startup.Problem}); moved to {movedTo} and a fresh store started");
            }

            return store;
        });
        services.TryAddSingleton<DriftRegistry>();
        services.TryAddSingleton<IDriftSignal>(sp => sp.GetRequiredService<DriftRegistry>());
        services.TryAddSingleton<DriftMetrics>();
        services.TryAddSingleton(sp => new CaptureRecorder(
            sp.GetRequiredService<IOptionsMonitor<CaptureSettings>>(),
            sp.GetRequiredService<CaptureChannel>(),
            sp.GetRequiredService<CaptureMetrics>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IDriftSignal>()));
        services.TryAddSingleton<ICaptureUploadSource, CaptureUploadSource>();

        services.TryAddSingleton(sp =>
        {
            var writer = ActivatorUtilities.CreateInstance<CaptureWriterService>(sp);
            // New records wake the uploader instead of waiting for its idle interval.
            if (sp.GetService<CaptureUploader>() is { } uploader)
            {
                writer.Committed = uploader.Wake;
            }

            return writer;
        });
        services.AddHostedService(sp => sp.GetRequiredService<CaptureWriterService>());
        services.TryAddSingleton<DriftEvaluationService>();
        services.AddHostedService(sp => sp.GetRequiredService<DriftEvaluationService>());
        return services;
    }
}

/// <summary>Checks the capture settings, nested policies included, and reports every problem together.</summary>
internal sealed class CaptureSettingsValidator : IValidateOptions<CaptureSettings>
{
    public ValidateOptionsResult Validate(string? name, CaptureSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        Check(options, "Capture", failures);
        Check(options.Defaults, "Capture:Defaults", failures);
        Check(options.Store, "Capture:Store", failures);
        foreach (var (model, policy) in options.Models)
        {
            Check(policy, $"Capture:Models:{model}", failures);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(object? value, string path, List<string> failures)
    {
        if (value is null)
        {
            failures.Add($"{path} is required");
            return;
        }

        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(value, new ValidationContext(value), results, validateAllProperties: true))
        {
            failures.AddRange(results.Select(r => $"{path}: {r.ErrorMessage}"));
        }
    }
}
