using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace EdgeMl.Agent.Telemetry;

/// <summary>
/// The scrape as the IoT Edge metrics collector parses it. Its line pattern wants at least one label inside braces
/// and a number after them: OpenTelemetry's <c>name{} 1</c> for an unlabelled series would be skipped, and a gauge
/// that reads NaN or ±Inf is refused. So empty braces go and non-finite samples are left out, as the hand-made
/// exporter did; everything else is the exporter's text unchanged.
/// </summary>
internal static class CollectorText
{
    public static IApplicationBuilder UseCollectorText(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            var original = context.Response.Body;
            using var buffer = new MemoryStream();
            context.Response.Body = buffer;
            try
            {
                await next(context);
            }
            finally
            {
                context.Response.Body = original;
            }

            var text = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
            var body = Encoding.UTF8.GetBytes(Normalize(text));
            context.Response.ContentLength = body.Length;
            await original.WriteAsync(body, context.RequestAborted);
        });

    internal static string Normalize(string text)
    {
        var result = new StringBuilder(text.Length);
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            if (line.IsEmpty)
            {
                continue;
            }

            if (line[0] != '#')
            {
                var space = line.LastIndexOf(' ');
                var value = space < 0 ? [] : line[(space + 1)..];
                if (value is "NaN" or "+Inf" or "-Inf" or "Inf")
                {
                    continue;
                }

                var empty = line.IndexOf("{} ", StringComparison.Ordinal);
                if (empty >= 0)
                {
                    result.Append(line[..empty]).Append(line[(empty + 2)..]).Append('\n');
                    continue;
                }
            }

            result.Append(line).Append('\n');
        }

        return result.ToString();
    }
}
