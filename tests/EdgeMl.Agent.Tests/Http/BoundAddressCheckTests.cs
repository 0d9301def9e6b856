using EdgeMl.Agent.Http;

namespace EdgeMl.Agent.Tests.Http;

public sealed class BoundAddressCheckTests
{
    private static readonly HashSet<int> MetricsPorts = [9600];

    [Theory]
    [InlineData("http://127.0.0.1:8000", null, true)]
    [InlineData("http://localhost:8000", null, true)]
    [InlineData("http://[::1]:8000", null, true)]
    [InlineData("http://0.0.0.0:9600", null, true)]
    [InlineData("http://0.0.0.0:8000", null, false)]
    [InlineData("http://[::]:8000", null, false)]
    [InlineData("http://192.168.1.20:8000", "short", false)]
    [InlineData("http://0.0.0.0:8000", "0123456789abcdef", true)]
    public void Problems_AddressBeyondLoopbackNeedsAToken(string address, string? token, bool passes)
    {
        var problems = BoundAddressCheck.Problems([address], token, MetricsPorts);

        Assert.Equal(passes, problems.Count == 0);
        Assert.All(problems, p => Assert.Contains("EdgeMl:Http:Token", p, StringComparison.Ordinal));
    }
}
