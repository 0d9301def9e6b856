using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace EdgeMl.Agent.Http;

internal static class HttpApiExtensions
{
    /// <summary>The protocol error shape and token check, then the Open Inference Protocol routes.</summary>
    public static WebApplication UseHttpApi(this WebApplication app)
    {
        app.UseMiddleware<ProtocolErrorMiddleware>();
        ((IEndpointRouteBuilder)app).MapOpenInferenceProtocol();
        return app;
    }
}
