using EdgeMl.Runtime.Sessions;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Runtime.Tests.Sessions;

public sealed class GoldenCheckTests
{
    [Fact]
    public void Compare_WithinTolerance_Matches()
    {
        var actual = InferenceTensor.Create("y", [1, 2], new[] { 0.5f, 0.5f });
        var expected = InferenceTensor.Create("y", [1, 2], new[] { 0.5001f, 0.4999f });

        Assert.Null(GoldenCheck.Compare([actual], [expected], absolute: 1e-3, relative: 0));
    }

    [Fact]
    public void Compare_GoldenDataShorterThanItsShape_SaysSoInsteadOfThrowing()
    {
        var actual = InferenceTensor.Create("y", [1, 2], new[] { 0.5f, 0.5f });
        var expected = InferenceTensor.FromBytes("y", TensorDataType.Fp32, [1, 2], new byte[4]);

        var difference = GoldenCheck.Compare([actual], [expected], absolute: 1e-3, relative: 0);

        Assert.Equal("output 'y' holds 2 elements; the golden sample's data holds 1", difference);
    }

    [Fact]
    public void Compare_BytesElementCountDiffers_SaysSoInsteadOfThrowing()
    {
        var actual = InferenceTensor.FromElements("s", [2], [new byte[] { 1 }, new byte[] { 2 }]);
        var expected = InferenceTensor.FromElements("s", [2], [new byte[] { 1 }]);

        Assert.Equal("output 's' has 2 elements; the golden sample lists 1", GoldenCheck.Compare([actual], [expected], 0, 0));
    }
}
