using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EdgeMl.CloudSync.Secrets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Telemetry;

/// <summary>
/// One JSON object a line for log shippers (Fluent Bit, Vector, the Azure Monitor agent): time, level, category,
/// event, message, exception, the message's named values, and the trace and span of the prediction or sync it
/// belongs to. Every string passes the secret redactor and values under secret names are masked, so the JSON carries
/// nothing the health report would not.
/// </summary>
internal sealed class JsonLogFormatter() : ConsoleFormatter(FormatterName)
{
    public const string FormatterName = "edgeml-json";

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("time", DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            json.WriteString("level", logEntry.LogLevel.ToString());
            json.WriteString("category", logEntry.Category);
            json.WriteNumber("eventId", logEntry.EventId.Id);
            if (logEntry.EventId.Name is { } name)
            {
                json.WriteString("event", name);
            }

            json.WriteString("message", SecretRedactor.RedactValue(message ?? ""));
            if (logEntry.Exception is { } exception)
            {
                json.WriteString("exception", SecretRedactor.RedactValue(exception.ToString()));
            }

            if (Activity.Current is { } activity)
            {
                json.WriteString("traceId", activity.TraceId.ToHexString());
                json.WriteString("spanId", activity.SpanId.ToHexString());
            }

            if (logEntry.State is IReadOnlyList<KeyValuePair<string, object?>> values && values.Count > 1)
            {
                json.WriteStartObject("state");
                foreach (var (key, value) in values)
                {
                    if (key == "{OriginalFormat}")
                    {
                        continue;
                    }

                    var text = Convert.ToString(value, CultureInfo.InvariantCulture);
                    json.WriteString(key, SecretRedactor.IsSecretName(key) ? SecretRedactor.Mask : SecretRedactor.RedactValue(text ?? ""));
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        textWriter.Write(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        textWriter.Write('\n');
    }
}

internal static class JsonLogging
{
    /// <summary>
    /// <c>EdgeMl:Logging:Format=json</c>, or the standard <c>Logging:Console:FormatterName=json</c>: the console
    /// writes <see cref="JsonLogFormatter"/> lines, redacted (the framework's own JSON formatter would not be).
    /// </summary>
    public static IServiceCollection AddJsonLogging(this IServiceCollection services, IConfiguration configuration)
    {
        // The formatter has no options of its own to bind (AddConsoleFormatter would bind them by reflection).
        services.AddLogging();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ConsoleFormatter, JsonLogFormatter>());
        services.AddSingleton<IPostConfigureOptions<ConsoleLoggerOptions>>(new PostConfigureOptions<ConsoleLoggerOptions>(Options.DefaultName, console =>
        {
            if (string.Equals(configuration["EdgeMl:Logging:Format"], "json", StringComparison.OrdinalIgnoreCase)
                || string.Equals(configuration["Logging:Console:FormatterName"], ConsoleFormatterNames.Json, StringComparison.OrdinalIgnoreCase))
            {
                console.FormatterName = JsonLogFormatter.FormatterName;
            }
        }));
        return services;
    }
}
