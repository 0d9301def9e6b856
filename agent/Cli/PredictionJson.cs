using System.Text;
using System.Text.Json;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Cli;

/// <summary>A prediction as an Open Inference Protocol response; large outputs are summarised for the terminal.</summary>
internal static class PredictionJson
{
    private const int MaxPrintedElements = 1024;

    public static string Format(InferenceResult result)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("model_name", result.Model);
            writer.WriteString("model_version", result.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
            writer.WriteStartArray("outputs");
            foreach (var output in result.Outputs)
            {
                writer.WriteStartObject();
                writer.WriteString("name", output.Name);
                writer.WriteString("datatype", output.DataType.ToProtocolName());
                writer.WriteStartArray("shape");
                foreach (var d in output.Shape)
                {
                    writer.WriteNumberValue(d);
                }

                writer.WriteEndArray();
                if (output.ElementCount <= MaxPrintedElements)
                {
                    writer.WritePropertyName("data");
                    ManifestTensors.Inline(output).Data!.Value.WriteTo(writer);
                }
                else if (output.DataType == TensorDataType.Fp32)
                {
                    var values = output.Span<float>();
                    writer.WriteStartObject("data_summary");
                    writer.WriteNumber("min", float.IsFinite(Min(values)) ? Min(values) : 0);
                    writer.WriteNumber("max", float.IsFinite(Max(values)) ? Max(values) : 0);
                    writer.WriteNumber("mean", Mean(values));
                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static float Min(ReadOnlySpan<float> v) => System.Numerics.Tensors.TensorPrimitives.Min(v);

    private static float Max(ReadOnlySpan<float> v) => System.Numerics.Tensors.TensorPrimitives.Max(v);

    private static double Mean(ReadOnlySpan<float> v) => System.Numerics.Tensors.TensorPrimitives.Sum(v) / v.Length;
}
