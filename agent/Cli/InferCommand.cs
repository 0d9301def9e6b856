using System.Buffers;
using System.Buffers.Binary;
using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using EdgeMl.Agent.Grpc;
using EdgeMl.Agent.Protocol;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Cli;

/// <summary>
/// <c>edgeml infer</c>: one prediction from a running agent, over the Open Inference Protocol. The input is a JSON
/// request file sent as it is, or a raw tensor file sent with the binary tensor extension; the outputs are printed
/// as <c>edgeml predict</c> prints them.
/// </summary>
internal static class InferCommand
{
    private const string HeaderLength = "Inference-Header-Content-Length";

    public static Command Create()
    {
        var url = AgentConnection.UrlOption();
        var token = AgentConnection.TokenOption();
        var model = new Option<string>("--model") { Description = "The model's name", Required = true };
        var version = new Option<long?>("--version") { Description = "A version (default: the one serving)" };
        var input = new Option<FileInfo?>("--input") { Description = "An Open Inference Protocol JSON request, or a raw tensor file with --name, --datatype and --shape" };
        var random = new Option<bool>("--random") { Description = "Instead of --input: random data for every input, shaped from the model's metadata (dynamic dimensions 1)" };
        var grpc = new Option<bool>("--grpc") { Description = $"Over the gRPC service (inference.GRPCInferenceService; --url default {GrpcUrl}) instead of HTTP" };
        var name = new Option<string?>("--name") { Description = "Raw tensor file: the input's name" };
        var datatype = new Option<string?>("--datatype") { Description = "Raw tensor file: FP32, INT64, UINT8, … (little-endian, row-major)" };
        var shape = new Option<string?>("--shape") { Description = "Raw tensor file: the shape, e.g. 1,3,48,192" };
        var command = new Command("infer", "Run one prediction on a running agent") { url, token, model, version, input, random, name, datatype, shape, grpc };
        command.SetAction((parse, cancellationToken) => LocalApiVerb.RunAsync("infer", parse, url, token, (client, output) =>
        {
            var options = new InferOptions(parse.GetValue(model)!, parse.GetValue(version), parse.GetValue(input), parse.GetValue(name), parse.GetValue(datatype), parse.GetValue(shape), parse.GetValue(random));
            if (!parse.GetValue(grpc))
            {
                return RunAsync(client, options, output, cancellationToken);
            }

            var connection = AgentConnection.FromParse(parse, url, token);
            if (parse.GetResult(url) is null or { Implicit: true })
            {
                connection = connection with { Url = new Uri(GrpcUrl) };
            }

            return RunGrpcAsync(connection, options, output, cancellationToken);
        }));
        return command;
    }

    /// <summary>The gRPC service's default address (<c>EdgeMl:Grpc:Urls</c>).</summary>
    internal const string GrpcUrl = "http://127.0.0.1:8001";

    internal static async Task<int> RunGrpcAsync(AgentConnection connection, InferOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        using var client = new GrpcInferClient(connection);
        IReadOnlyList<InferenceTensor> inputs;
        if (Source(options))
        {
            inputs = RandomInputs(await client.InputsAsync(options.Model, options.Version, cancellationToken));
        }
        else if (options.Name is null && options.DataType is null && options.Shape is null)
        {
            // A JSON request file is read here, as the HTTP API would read it, and sent as raw tensors.
            try
            {
                inputs = InferRequestReader.Read(await File.ReadAllBytesAsync(options.Input!.FullName, cancellationToken), null).Request.Inputs;
            }
            catch (ProtocolException e)
            {
                throw new ArgumentException($"--input {options.Input!.Name}: {e.Message}");
            }
        }
        else
        {
            var (name, type, shape) = RawTensor(options);
            var data = ReadRaw(options, type, shape);
            inputs = [type == TensorDataType.Bytes ? InferRequestReader.ReadByteElements(name, shape, data) : InferenceTensor.FromBytes(name, type, shape, data)];
        }

        var result = await client.InferAsync(options.Model, options.Version, inputs, cancellationToken);
        await output.WriteLineAsync(PredictionJson.Format(result));
        return ExitCodes.Ok;
    }

    internal static async Task<int> RunAsync(LocalApiClient client, InferOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        if (Source(options))
        {
            using var metadata = await client.GetJsonAsync($"/v2/models/{Uri.EscapeDataString(options.Model)}", cancellationToken);
            options = options with { RandomInputs = RandomInputs(Specs(metadata.RootElement)) };
        }

        var path = options.Version is { } v
            ? $"/v2/models/{Uri.EscapeDataString(options.Model)}/versions/{v.ToString(CultureInfo.InvariantCulture)}/infer"
            : $"/v2/models/{Uri.EscapeDataString(options.Model)}/infer";
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = BuildContent(options) };
        using var response = await client.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        long? headerLength = response.Headers.TryGetValues(HeaderLength, out var values)
            && long.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;

        InferenceResult result;
        try
        {
            result = InferResponseReader.Read(body, headerLength);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or ProtocolException or KeyNotFoundException or InvalidOperationException)
        {
            throw new AgentCallException(ExitCodes.AgentError, $"the agent's response is not an Open Inference Protocol infer response: {e.Message}");
        }

        await output.WriteLineAsync(PredictionJson.Format(result));
        return ExitCodes.Ok;
    }

    /// <summary>True for <c>--random</c>, false for <c>--input</c>; one of the two, never both.</summary>
    private static bool Source(InferOptions options) => (options.Input, options.Random) switch
    {
        (null, false) => throw new ArgumentException("give --input FILE (a request or a raw tensor) or --random"),
        (not null, true) => throw new ArgumentException("--input and --random exclude each other"),
        _ => options.Random,
    };

    private static IReadOnlyList<TensorSpec> Specs(JsonElement metadata)
    {
        try
        {
            return [.. metadata.GetProperty("inputs").EnumerateArray().Select(i => new TensorSpec(
                i.GetProperty("name").GetString()!,
                TensorDataTypes.TryParse(i.GetProperty("datatype").GetString(), out var t) ? t : throw new InvalidDataException($"input datatype {i.GetProperty("datatype")}"),
                [.. i.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())]))];
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or InvalidDataException)
        {
            throw new AgentCallException(ExitCodes.AgentError, $"the agent's model metadata has no readable inputs: {e.Message}");
        }
    }

    /// <summary>
    /// Data for a first call when no real input is at hand: values in [0, 1) for floating point, 0-9 for integers (valid
    /// token ids and class indices for most models), booleans, short strings; dynamic dimensions 1.
    /// </summary>
    internal static IReadOnlyList<InferenceTensor> RandomInputs(IReadOnlyList<TensorSpec> specs)
    {
        var random = new Random();
        return [.. specs.Select(spec =>
        {
            long[] shape = [.. spec.Shape.Select(d => d < 0 ? 1 : d)];
            var count = (int)shape.Aggregate(1L, (a, d) => a * d);
            if (spec.DataType == TensorDataType.Bytes)
            {
                return InferenceTensor.FromElements(spec.Name, shape, [.. Enumerable.Range(0, count).Select(_ => (ReadOnlyMemory<byte>)"edgeml"u8.ToArray())]);
            }

            var data = new byte[count * spec.DataType.ElementSize()];
            var size = spec.DataType.ElementSize();
            for (var i = 0; i < count; i++)
            {
                var slot = data.AsSpan(i * size, size);
                switch (spec.DataType)
                {
                    case TensorDataType.Fp32: BinaryPrimitives.WriteSingleLittleEndian(slot, random.NextSingle()); break;
                    case TensorDataType.Fp64: BinaryPrimitives.WriteDoubleLittleEndian(slot, random.NextDouble()); break;
                    case TensorDataType.Fp16: BinaryPrimitives.WriteHalfLittleEndian(slot, (Half)random.NextSingle()); break;
                    case TensorDataType.Bool: slot[0] = (byte)random.Next(2); break;
                    default: slot[0] = (byte)random.Next(10); break; // little-endian: the low byte is the value
                }
            }

            return InferenceTensor.FromBytes(spec.Name, spec.DataType, shape, data);
        })];
    }

    private static byte[] ReadRaw(InferOptions options, TensorDataType type, long[] shape)
    {
        if (!options.Input!.Exists)
        {
            throw new FileNotFoundException($"--input {options.Input.FullName} does not exist", options.Input.FullName);
        }

        var data = File.ReadAllBytes(options.Input.FullName);
        if (type != TensorDataType.Bytes)
        {
            var expected = shape.Aggregate(1L, (a, d) => a * d) * type.ElementSize();
            if (data.LongLength != expected)
            {
                throw new ArgumentException($"--input {options.Input.Name} has {data.LongLength} bytes; {type.ToProtocolName()} {TensorSpec.FormatShape(shape)} needs {expected}");
            }
        }

        return data;
    }

    private static ByteArrayContent BuildContent(InferOptions options)
    {
        if (options.RandomInputs is { } generated)
        {
            return BinaryContent(generated);
        }

        if (!options.Input!.Exists)
        {
            throw new FileNotFoundException($"--input {options.Input.FullName} does not exist", options.Input.FullName);
        }

        var raw = options.Name is not null || options.DataType is not null || options.Shape is not null;
        if (!raw)
        {
            // A JSON request goes as it is: the agent checks it and says what is wrong in its own words.
            var json = new ByteArrayContent(File.ReadAllBytes(options.Input.FullName));
            json.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            return json;
        }

        var (name, type, shape) = RawTensor(options);
        var data = ReadRaw(options, type, shape);
        return BinaryContent([type == TensorDataType.Bytes ? InferRequestReader.ReadByteElements(name, shape, data) : InferenceTensor.FromBytes(name, type, shape, data)]);
    }

    /// <summary>A request with the binary tensor extension: the JSON header, then each input's bytes in order.</summary>
    private static ByteArrayContent BinaryContent(IReadOnlyList<InferenceTensor> inputs)
    {
        var blobs = inputs.Select(t => t.DataType == TensorDataType.Bytes ? GrpcTensors.LengthPrefixed(t).ToByteArray() : t.Data.ToArray()).ToArray();
        var header = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(header, InferResponseWriter.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("inputs");
            for (var i = 0; i < inputs.Count; i++)
            {
                writer.WriteStartObject();
                writer.WriteString("name", inputs[i].Name);
                writer.WriteString("datatype", inputs[i].DataType.ToProtocolName());
                writer.WriteStartArray("shape");
                foreach (var d in inputs[i].Shape)
                {
                    writer.WriteNumberValue(d);
                }

                writer.WriteEndArray();
                writer.WriteStartObject("parameters");
                writer.WriteNumber("binary_data_size", blobs[i].Length);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        var body = new byte[header.WrittenCount + blobs.Sum(b => b.Length)];
        header.WrittenSpan.CopyTo(body);
        var offset = header.WrittenCount;
        foreach (var blob in blobs)
        {
            blob.CopyTo(body.AsSpan(offset));
            offset += blob.Length;
        }

        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add(HeaderLength, header.WrittenCount.ToString(CultureInfo.InvariantCulture));
        return content;
    }

    private static (string Name, TensorDataType Type, long[] Shape) RawTensor(InferOptions options)
    {
        if (options.Name is not { Length: > 0 } name || options.DataType is null || options.Shape is null)
        {
            throw new ArgumentException("a raw tensor file needs all of --name, --datatype and --shape (or give a JSON request file without them)");
        }

        if (!TensorDataTypes.TryParse(options.DataType.ToUpperInvariant(), out var type))
        {
            throw new ArgumentException($"--datatype '{options.DataType}' is not an Open Inference Protocol datatype (FP32, INT64, UINT8, …)");
        }

        var shape = options.Shape.Split(',', StringSplitOptions.TrimEntries)
            .Select(d => long.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : throw new ArgumentException($"--shape '{options.Shape}' must be non-negative integers separated by commas"))
            .ToArray();
        return (name, type, shape);
    }
}

internal sealed record InferOptions(string Model, long? Version, FileInfo? Input, string? Name, string? DataType, string? Shape, bool Random = false)
{
    /// <summary>The inputs <c>--random</c> made, once the model's metadata is known.</summary>
    public IReadOnlyList<InferenceTensor>? RandomInputs { get; init; }
}
