using EdgeMl.Agent.Http;
using Microsoft.AspNetCore.Http;

namespace EdgeMl.Agent.Tests.Http;

public sealed class LocalCallersTests
{
    [Theory]
    [InlineData("localhost", true)]
    [InlineData("LOCALHOST", true)]
    [InlineData("agent.localhost", true)]
    [InlineData("127.0.0.1", true)]
    [InlineData("[::1]", true)]
    [InlineData("192.168.1.20", true)]
    [InlineData("edgeml", true)]
    [InlineData("cam-7.plant.example", true)]
    [InlineData("attacker.example", false)]
    [InlineData("localhost.attacker.example", false)]
    [InlineData("plant.example", false)]
    [InlineData("[not-an-address]", false)]
    public void IsAllowedHost_LoopbackNamesIpLiteralsAndConfiguredNames(string host, bool allowed) =>
        Assert.Equal(allowed, new LocalCallers("edgeml; *.plant.example").IsAllowedHost(host));

    [Theory]
    [InlineData("127.0.0.1:8000")]
    [InlineData("127.0.0.1")]
    [InlineData("[::1]:8000")]
    [InlineData("[::1]")]
    [InlineData("[fe80::1%25eth0]:80")]
    [InlineData("localhost:1")]
    [InlineData("agent.localhost")]
    [InlineData("name:")]
    [InlineData("attacker.example:80")]
    [InlineData("")]
    public void HostPart_IsWhatHostStringReadsAsTheHost(string value) =>
        Assert.Equal(HostString.FromUriComponent(value).Host, LocalCallers.HostPart(value).ToString());

    /// <summary>HostString brackets an unbracketed IPv6 address (Kestrel refuses such a Host first); the decision is the same.</summary>
    [Theory]
    [InlineData("::1", true)]
    [InlineData("a:b:c", false)]
    public void HostPart_UnbracketedColons_SameDecisionAsHostString(string value, bool allowed)
    {
        var callers = new LocalCallers("");
        Assert.Equal(allowed, callers.IsAllowedHost(LocalCallers.HostPart(value)));
        Assert.Equal(allowed, callers.IsAllowedHost(HostString.FromUriComponent(value).Host));
    }

    [Theory]
    [InlineData("GET", "127.0.0.1:8000", null, null, null)]
    [InlineData("GET", "attacker.example:8000", null, null, 421)]
    [InlineData("GET", "127.0.0.1:8000", "http://127.0.0.1:8000", null, null)]
    [InlineData("GET", "127.0.0.1:8000", "http://attacker.example", null, 403)]
    [InlineData("GET", "127.0.0.1:8000", "http://127.0.0.1:8001", null, 403)]
    [InlineData("GET", "[::1]:8000", "http://[::1]:8000", null, null)]
    [InlineData("POST", "127.0.0.1:8000", "null", "application/json", 403)]
    [InlineData("POST", "localhost:8000", null, "application/json; charset=utf-8", null)]
    [InlineData("POST", "localhost:8000", null, "application/octet-stream", null)]
    [InlineData("POST", "localhost:8000", null, "Application/Octet-Stream", null)]
    [InlineData("POST", "localhost:8000", null, "application/json ; charset=utf-8", null)]
    [InlineData("POST", "localhost:8000", null, "application/jsonp", 415)]
    [InlineData("POST", "localhost:8000", null, "application/octet-streams", 415)]
    [InlineData("POST", "localhost:8000", null, "text/plain; x=application/json", 415)]
    [InlineData("POST", "localhost:8000", null, null, null)]
    [InlineData("POST", "localhost:8000", null, "text/plain", 415)]
    [InlineData("POST", "localhost:8000", null, "application/x-www-form-urlencoded", 415)]
    [InlineData("POST", "localhost:8000", null, "multipart/form-data; boundary=x", 415)]
    public void Check_HostOriginAndBodyType(string method, string host, string? origin, string? contentType, int? refused)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Scheme = "http";
        context.Request.Host = HostString.FromUriComponent(host);
        if (origin is not null)
        {
            context.Request.Headers.Origin = origin;
        }

        context.Request.ContentType = contentType;

        var refusal = new LocalCallers("").Check(context.Request);

        Assert.Equal(refused, refusal?.Status);
    }

    /// <summary>Every request is checked: one as clients send it (an IP literal Host, a plain media type) costs no allocation.</summary>
    [Theory]
    [InlineData("application/octet-stream")]
    [InlineData("application/json")]
    [InlineData(null)]
    public void Check_AUsualLocalPost_AllocatesNothing(string? contentType)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Host = HostString.FromUriComponent("127.0.0.1:8000");
        context.Request.ContentType = contentType;
        var callers = new LocalCallers("");
        Assert.Null(callers.Check(context.Request));

        var before = GC.GetAllocatedBytesForCurrentThread();
        var refusal = callers.Check(context.Request);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Null(refusal);
        Assert.Equal(0, allocated);
    }
}
