using System.Globalization;

namespace EdgeMl.Runtime.Providers;

/// <summary>Translates our provider options into ONNX Runtime's native option keys.</summary>
internal static class ProviderSettings
{
    public static Dictionary<string, string> For(ExecutionProviderOptions options)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        var device = options.DeviceId.ToString(CultureInfo.InvariantCulture);
        switch (options.Name.ToLowerInvariant())
        {
            case ProviderNames.Cuda:
                settings["device_id"] = device;
                break;
            case ProviderNames.TensorRt:
                settings["device_id"] = device;
                settings["trt_fp16_enable"] = Flag(options.Fp16);
                settings["trt_int8_enable"] = Flag(options.Int8);
                if (options.EngineCachePath is { Length: > 0 } engines)
                {
                    settings["trt_engine_cache_enable"] = "1";
                    settings["trt_engine_cache_path"] = engines;
                }

                if (options.TimingCachePath is { Length: > 0 } timing)
                {
                    settings["trt_timing_cache_enable"] = "1";
                    settings["trt_timing_cache_path"] = timing;
                }

                if (options.MaxWorkspaceBytes is { } workspace)
                {
                    settings["trt_max_workspace_size"] = workspace.ToString(CultureInfo.InvariantCulture);
                }

                break;
            case ProviderNames.OpenVino:
                if (options.DeviceType is { Length: > 0 } deviceType)
                {
                    settings["device_type"] = deviceType;
                }

                break;
            case ProviderNames.VitisAi:
                if (options.ConfigFile is { Length: > 0 } config)
                {
                    settings["config_file"] = config;
                }

                break;
        }

        foreach (var (key, value) in options.Settings)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static string Flag(bool value) => value ? "1" : "0";
}
