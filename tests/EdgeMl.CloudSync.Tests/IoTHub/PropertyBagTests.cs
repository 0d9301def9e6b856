using System.Text;
using EdgeMl.CloudSync.IoTHub;

namespace EdgeMl.CloudSync.Tests.IoTHub;

public sealed class PropertyBagTests
{
    [Fact]
    public void EncodeProperties_SystemAndApplication_CSharpSdkForm()
    {
        var message = new IoTHubMessage(Encoding.UTF8.GetBytes("{}"))
        {
            ContentType = "application/json",
            ContentEncoding = "utf-8",
            MessageId = "7f3c",
            CorrelationId = "c 1",
            Properties = { ["alert"] = "high", ["a&b"] = "x=y", ["flag"] = null },
        };

        var bag = IoTHubClient.EncodeProperties(message, "results");

        Assert.Equal("%24.on=results&%24.mid=7f3c&%24.cid=c%201&%24.ct=application%2Fjson&%24.ce=utf-8&alert=high&a%26b=x%3Dy&flag", bag);
    }

    [Theory]
    [InlineData("%24.ct=application%2Fjson&%24.ce=utf-8&alert=high/")]
    [InlineData("$.ct=application%2Fjson&$.ce=utf-8&alert=high")]
    [InlineData("$.ct=application/json&%24.ce=utf-8&alert=high/")]
    public void TryDecode_EveryAcceptedForm_SameProperties(string bag)
    {
        Assert.True(PropertyBag.TryDecode(bag, out var props, out _));
        var message = IoTHubClient.MessageFromBag(default, props, "in1");

        Assert.Equal("application/json", message.ContentType);
        Assert.Equal("utf-8", message.ContentEncoding);
        Assert.Equal("high", message.Properties["alert"]);
    }

    /// <summary>Found by the property-bag fuzz harness: the literal characters were encoded one UTF-16 unit at a time.</summary>
    [Theory]
    [InlineData("note=%24\U0001F600", "note", "$\U0001F600")]
    [InlineData("c%2F\U0002C600=1", "c/\U0002C600", "1")]
    [InlineData("city=M%C3%BCnchen\U0001F3D9", "city", "M\u00FCnchen\U0001F3D9")]
    public void TryDecode_CharacterBeyondTheBmpNextToAnEscape_KeptWhole(string bag, string key, string value)
    {
        Assert.True(PropertyBag.TryDecode(bag, out var props, out _));

        Assert.Equal([new(key, value)], props);
    }

    [Fact]
    public void TryDecode_KeyWithoutValueAndEmptyValue_Distinguished()
    {
        Assert.True(PropertyBag.TryDecode("a&b=", out var props, out _));

        Assert.Equal([new("a", null), new("b", "")], props);
    }

    [Fact]
    public void TryDecode_EmptyBag_NoProperties()
    {
        Assert.True(PropertyBag.TryDecode("", out var props, out _));
        Assert.Empty(props);
    }

    [Theory]
    [InlineData("%zz=1", "undecodable key")]
    [InlineData("a=%E0%A4", "undecodable value")]
    [InlineData("a=50%", "undecodable value")]
    [InlineData("=v", "undecodable key")]
    public void TryDecode_UnknownEncoding_FailsWithClearError(string bag, string expected)
    {
        Assert.False(PropertyBag.TryDecode(bag, out var props, out var error));
        Assert.Null(props);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void MessageFromBag_HubStampedSystemProperties_KeptSeparately()
    {
        Assert.True(PropertyBag.TryDecode("%24.cdid=edge01&%24.cmid=camera&k=v", out var props, out _));
        var message = IoTHubClient.MessageFromBag(default, props, "frames");

        Assert.Equal("edge01", message.OtherSystemProperties["$.cdid"]);
        Assert.Equal("camera", message.OtherSystemProperties["$.cmid"]);
        Assert.Equal(["k"], message.Properties.Keys);
        Assert.Equal("frames", message.InputName);
    }
}
