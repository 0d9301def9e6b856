using System.Buffers;
using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
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
        var input = new Option<FileInfo>("--input") { Description = "An Open Inference Protocol JSON request, or a raw tensor file with --name, --datatype and --shape", Required = true };
        var name = new Option<string?>("--name") { Description = "Raw tensor file: the input's name" };
        var datatype = new Option<string?>("--datatype") { Description = "Raw tensor file: FP32, INT64, UINT8, … (little-endian, row-major)" };
        var shape = new Option<string?>("--shape") { Description = "Raw tensor file: the shape, e.g. 1,3,48,192" };
        var command = new Command("infer", "Run one prediction on a running agent") { url, token, model, version, input, name, datatype, shape };
        command.SetAction((parse, cancellationToken) => LocalApiVerb.RunAsync("infer", parse, url, token, (client, output) =>
            RunAsync(
                client,
                new InferOptions(parse.GetValue(model)!, parse.GetValue(version), parse.GetValue(input)!, parse.GetValue(name), parse.GetValue(datatype), parse.GetValue(shape)),
                output,
                cancellationToken)));
        return command;
    }

    internal static async Task<int> RunAsync(LocalApiClient client, InferOptions options, TextWriter output, CancellationToken cancellationToken)
    {
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

    private static ByteArrayContent BuildContent(InferOptions options)
    {
        if (!options.Input.Exists)
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
        var data = File.ReadAllBytes(options.Input.FullName);
        if (type != TensorDataType.Bytes)
        {
            var expected = shape.Aggregate(1L, (a, d) => a * d) * type.ElementSize();
            if (data.LongLength != expected)
            {
                throw new ArgumentException($"--input {options.Input.Name} has {data.LongLength} bytes; {type.ToProtocolName()} {TensorSpec.FormatShape(shape)} needs {expected}");
            }
        }

        var header = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(header, InferResponseWriter.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("inputs");
            writer.WriteStartObject();
            writer.WriteString("name", name);
            writer.WriteString("datatype", type.ToProtocolName());
            writer.WriteStartArray("shape");
            foreach (var d in shape)
            {
                writer.WriteNumberValue(d);
            }

            writer.WriteEndArray();
            writer.WriteStartObject("parameters");
            writer.WriteNumber("binary_data_size", data.Length);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        var body = new byte[header.WrittenCount + data.Length];
        header.WrittenSpan.CopyTo(body);
        data.CopyTo(body.AsSpan(header.WrittenCount));
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

internal sealed record InferOptions(string Model, long? Version, FileInfo Input, string? Name, string? DataType, string? Shape);
