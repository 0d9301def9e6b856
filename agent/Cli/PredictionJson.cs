using System.Text.Json;
using EdgeMl.Agent.Protocol;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Cli;

/// <summary>
/// A prediction as the Open Inference Protocol response the HTTP API would send; outputs too large to read on a
/// terminal are replaced by their shape and a summary.
/// </summary>
internal static class PredictionJson
{
    private const int MaxPrintedElements = 1024;
    private static readonly JsonWriterOptions Indented = new()
    {
        Indented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Format(InferenceResult result)
    {
        var printable = result.Outputs.Where(o => o.ElementCount <= MaxPrintedElements).ToArray();
        var shown = InferenceResult.Success(result.Model, result.Version, printable);
        var response = InferResponseWriter.Build(new InferCall(null, new InferenceRequest([]), false, default), shown);
        using var doc = JsonDocument.Parse(response.Json);
        var text = Indent(doc.RootElement);
        foreach (var large in result.Outputs.Except(printable))
        {
            var summary = large.DataType == TensorDataType.Fp32 ? Summary(large.Span<float>()) : "";
            text += $"\n{large.Name} {large.DataType.ToProtocolName()} {TensorSpec.FormatShape(large.Shape)}: {large.ElementCount} values{summary}";
        }

        return text;
    }

    private static string Summary(ReadOnlySpan<float> values) =>
        FormattableString.Invariant(
            $", min {System.Numerics.Tensors.TensorPrimitives.Min(values):G4}, max {System.Numerics.Tensors.TensorPrimitives.Max(values):G4}, mean {System.Numerics.Tensors.TensorPrimitives.Sum(values) / values.Length:G4}");

    private static string Indent(JsonElement element)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Indented))
        {
            element.WriteTo(writer);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
