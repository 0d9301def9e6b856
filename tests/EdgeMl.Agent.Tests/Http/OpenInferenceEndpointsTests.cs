using System.Globalization;
using EdgeMl.Agent.Http;

namespace EdgeMl.Agent.Tests.Http;

public sealed class OpenInferenceEndpointsTests
{
    /// <summary>The JSON header's length as a header value: the usual lengths are made into strings once, the rest every time.</summary>
    [Theory]
    [InlineData(0, true)]
    [InlineData(7, true)]
    [InlineData(98, true)]
    [InlineData(1023, true)]
    [InlineData(1024, false)]
    [InlineData(65_536, false)]
    [InlineData(int.MaxValue, false)]
    public void ByteCount_IsTheDecimalLength_KeptOnlyForSmallLengths(int length, bool kept)
    {
        var first = OpenInferenceEndpoints.ByteCount(length);
        var second = OpenInferenceEndpoints.ByteCount(length);

        Assert.Equal(length.ToString(CultureInfo.InvariantCulture), first);
        Assert.Equal(second, first);
        Assert.Equal(kept, ReferenceEquals(first, second));
    }
}
