using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeMl.Agent.Desired;
using EdgeMl.Agent.Protocol;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.Runtime.Packages;

namespace EdgeMl.Fuzz;

/// <summary>
/// One entry per parser that reads what someone else wrote. Each takes the fuzzer's bytes the way the product receives
/// them and treats only the parser's own refusal (its documented exception, or a false return) as normal; anything
/// else escapes and afl++ records a crash. A few also check a property the product relies on (a manifest re-reads
/// from the bytes that get signed), which turns a silent wrong answer into a crash.
/// </summary>
internal static class Harnesses
{
    /// <summary>The model name the seed lists carry; any other is refused as a name mismatch, which is fine too.</summary>
    private const string ListName = "ocr-cls";

    private const string DeviceId = "edge01";
    private const string ModuleId = "inferenceAgent";

    public static IReadOnlyDictionary<string, Action<ReadOnlyMemory<byte>>> All { get; } =
        new Dictionary<string, Action<ReadOnlyMemory<byte>>>(StringComparer.Ordinal)
        {
            ["infer-json"] = InferJson,
            ["infer-binary"] = InferBinary,
            ["desired"] = Desired,
            ["manifest"] = Manifest,
            ["versions"] = Versions,
            ["iothub-topic"] = IoTHubTopic,
            ["property-bag"] = PropertyBagDecode,
        };

    /// <summary>An Open Inference Protocol request without the binary extension: the whole body is JSON.</summary>
    public static void InferJson(ReadOnlyMemory<byte> input) => Infer(input, headerLength: null);

    /// <summary>
    /// The binary extension: the input is the JSON header, a 0 byte, then the binary data; the header's length is
    /// what <c>Inference-Header-Content-Length</c> says (without a 0 byte, the whole input is the header). The
    /// separator lets the fuzzer grow and shrink the header without breaking the length.
    /// </summary>
    public static void InferBinary(ReadOnlyMemory<byte> input)
    {
        var split = input.Span.IndexOf((byte)0);
        if (split < 0)
        {
            Infer(input, input.Length);
            return;
        }

        var body = new byte[input.Length - 1];
        input.Span[..split].CopyTo(body);
        input.Span[(split + 1)..].CopyTo(body.AsSpan(split));
        Infer(body, split);
    }

    private static void Infer(ReadOnlyMemory<byte> body, long? headerLength)
    {
        InferCall call;
        try
        {
            call = InferRequestReader.Read(body, headerLength);
        }
        catch (ProtocolException)
        {
            // 400 for what does not fit, 501 for an extension not served: answers, not crashes.
            return;
        }

        // What the engine does next: every tensor's size, data and elements, and each output's encoding.
        foreach (var tensor in call.Request.Inputs)
        {
            _ = tensor.ElementCount;
            _ = tensor.ByteLength;
            foreach (var element in tensor.Elements)
            {
                _ = element.Length;
            }
        }

        foreach (var output in call.Request.Outputs)
        {
            _ = call.IsBinary(output);
        }
    }

    /// <summary>A desired-properties patch as it arrives on the twin topic, then the parser the agent applies to it.</summary>
    public static void Desired(ReadOnlyMemory<byte> input)
    {
        JsonObject patch;
        try
        {
            patch = IoTHubClient.ParseObject(input.Span);
        }
        catch (JsonException)
        {
            return;
        }

        _ = patch["$version"] is JsonValue v && v.TryGetValue<long>(out _);
        var result = DesiredStateParser.Parse(patch);
        foreach (var issue in result.Issues)
        {
            _ = issue.ToString();
        }

        _ = result.State.Models.Count;
    }

    /// <summary>A model manifest; one that passes must read back the same from the bytes a publisher signs.</summary>
    public static void Manifest(ReadOnlyMemory<byte> input)
    {
        ModelManifest manifest;
        try
        {
            manifest = ModelManifest.Parse(input.Span);
        }
        catch (ModelManifestException)
        {
            return;
        }

        var again = ModelManifest.Parse(manifest.ToJson());
        Check(again.Name == manifest.Name && again.Version == manifest.Version && again.Files.Count == manifest.Files.Count,
            "a manifest read back from its own JSON differs");
        _ = manifest.FindFile(manifest.Entry);
    }

    /// <summary>A <c>versions.json</c> past its signature check, then what the device and the publisher do with it.</summary>
    public static void Versions(ReadOnlyMemory<byte> input)
    {
        VersionsDocument list;
        try
        {
            list = VersionsDocument.ReadSignedContent(input.Span, ListName);
        }
        catch (PackageVerificationException)
        {
            return;
        }

        var latest = list.Latest;
        _ = latest is null ? null : list.Find(latest.Version);
        var now = DateTimeOffset.UnixEpoch.AddYears(56);
        var next = list.With(new VersionEntry((latest?.Version ?? 0) + 1, new string('0', 64)), now, now.AddDays(30));
        var again = VersionsDocument.ReadSignedContent(next.ToJson(), ListName);
        Check(again.Versions.Count >= list.Versions.Count && again.Sequence > list.Sequence, "the next publication of a list lost entries or did not raise its sequence");
    }

    /// <summary>A topic the IoT Hub client receives, dispatched as it dispatches them: twin, desired, method, or an input with its property bag.</summary>
    public static void IoTHubTopic(ReadOnlyMemory<byte> input)
    {
        var topic = Encoding.UTF8.GetString(input.Span);
        if (IoTHubTopics.TryParseTwinResponse(topic, out _, out var rid, out _))
        {
            Check(rid is not null, "a twin response parsed without a request id");
            return;
        }

        if (IoTHubTopics.TryParseDesired(topic, out _))
        {
            return;
        }

        if (IoTHubTopics.TryParseMethod(topic, out var name, out var methodRid))
        {
            Check(name.Length > 0 && methodRid.Length > 0, "a method call parsed without a name or request id");
            return;
        }

        var prefix = IoTHubTopics.InputsPrefix(DeviceId, ModuleId);
        if (topic.StartsWith(prefix, StringComparison.Ordinal))
        {
            var (inputName, bag) = IoTHubTopics.SplitInput(topic[prefix.Length..]);
            if (inputName.Length > 0 && PropertyBag.TryDecode(bag, out var properties, out _))
            {
                _ = IoTHubClient.MessageFromBag(ReadOnlyMemory<byte>.Empty, properties, inputName);
            }
        }
    }

    /// <summary>
    /// A property bag (what ends telemetry, input and C2D topics). What decodes must decode to what the URI rules
    /// say (the hub's encoder), and must survive the client's own encoding.
    /// </summary>
    public static void PropertyBagDecode(ReadOnlyMemory<byte> input)
    {
        var bag = Encoding.UTF8.GetString(input.Span);
        if (!PropertyBag.TryDecode(bag, out var properties, out var error))
        {
            Check(error.Length > 0, "a bag refused without a reason");
            return;
        }

        var raw = (bag.EndsWith('/') ? bag[..^1] : bag).Split('&').Where(p => p.Length > 0).ToList();
        Check(raw.Count == properties.Count, "a bag decoded to a different number of properties than it has");
        for (var i = 0; i < raw.Count; i++)
        {
            var eq = raw[i].IndexOf('=', StringComparison.Ordinal);
            Check(properties[i].Key == Uri.UnescapeDataString(eq < 0 ? raw[i] : raw[i][..eq]), "a key decoded otherwise than the URI rules say");
            Check(properties[i].Value == (eq < 0 ? null : Uri.UnescapeDataString(raw[i][(eq + 1)..])), "a value decoded otherwise than the URI rules say");
        }

        Check(PropertyBag.TryDecode(PropertyBag.Encode(properties), out var again, out _) && again.SequenceEqual(properties),
            "a bag the client encoded does not decode to the same properties");
        _ = IoTHubClient.MessageFromBag(ReadOnlyMemory<byte>.Empty, properties, "input1");
    }

    private static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new FuzzPropertyException(what);
        }
    }
}

/// <summary>A parser answered, but wrongly: a crash for afl++ like any other exception that escapes.</summary>
internal sealed class FuzzPropertyException(string message) : Exception(message);
