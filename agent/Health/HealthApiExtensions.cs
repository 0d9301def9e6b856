using System.Globalization;
using System.Text.Json;
using EdgeMl.Agent.Events;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeMl.Agent.Health;

internal static class HealthApiExtensions
{
    public const int DefaultEvents = 50;

    /// <summary>
    /// <c>GET /api/health</c> (the health document) and <c>/api/events?max=N</c> (recent events, oldest first);
    /// behind the API's bearer token like every path but <c>/v2/health</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGet("/api/health", (HealthCollector collector) =>
            Results.Bytes(HealthJson.Serialize(collector.Collect()), "application/json"));
        endpoints.MapGet("/api/events", (HttpContext context) =>
        {
            var max = DefaultEvents;
            if (context.Request.Query["max"] is { Count: > 0 } text
                && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out max) || max < 1))
            {
                return Results.Text("""{"error":"max must be a positive integer"}""", "application/json", statusCode: 400);
            }

            var events = context.RequestServices.GetService<AgentEventLog>()?.Recent(max) ?? [];
            return Results.Bytes(JsonSerializer.SerializeToUtf8Bytes(events.Select(HealthJson.ToJson).ToArray(), HealthJsonContext.Default.IReadOnlyListEventJson), "application/json");
        });
        return endpoints;
    }
}
