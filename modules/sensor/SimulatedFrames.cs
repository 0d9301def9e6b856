using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace EdgeMl.Sensor;

/// <summary>
/// Open Inference Protocol requests for the PaddleOCR classifier: a 48×192 RGB text-line crop, normalized as
/// PaddleOCR does ((p/255 − 0.5)/0.5, so [−1, 1]), a dark band of "text" on a light background that moves
/// frame to frame, plus noise. Values keep three decimals, so a frame is about 150 KB of JSON, well under the
/// 256 KB message limit.
/// </summary>
internal static class SimulatedFrames
{
    public const int Channels = 3;
    public const int Height = 48;
    public const int Width = 192;
    public static readonly long[] Shape = [1, Channels, Height, Width];

    public static byte[] Request(string inputName, int frame, int seed)
    {
        var random = new Random(HashCode.Combine(seed, frame));
        var buffer = new ArrayBufferWriter<byte>(160 * 1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("inputs");
            json.WriteStartObject();
            json.WriteString("name", inputName);
            json.WriteString("datatype", "FP32");
            json.WriteStartArray("shape");
            foreach (var d in Shape)
            {
                json.WriteNumberValue(d);
            }

            json.WriteEndArray();
            json.WriteStartArray("data");
            var bandTop = 12 + (frame % 8);
            Span<byte> digits = stackalloc byte[16];
            for (var c = 0; c < Channels; c++)
            {
                for (var y = 0; y < Height; y++)
                {
                    for (var x = 0; x < Width; x++)
                    {
                        var text = y >= bandTop && y < bandTop + 20 && (x / 6) % 3 != 0;
                        var pixel = (text ? 40 : 220) + random.Next(-15, 16);
                        var value = Math.Round(((pixel / 255.0) - 0.5) / 0.5, 3);
                        value.TryFormat(digits, out var written, "0.###", CultureInfo.InvariantCulture);
                        json.WriteRawValue(digits[..written], skipInputValidation: true);
                    }
                }
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static string Describe(byte[] body) => Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 80));
}
