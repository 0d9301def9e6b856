using System.Text.Json;
using EdgeMl.Agent.Protocol;
using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Agent.Cli;

/// <summary>
/// A request file given to <c>edgeml model pack --sample</c> or <c>--initial-state</c>: Open Inference Protocol JSON, or the binary tensor
/// extension as sent over HTTP (the JSON header, then the inputs' bytes), read as the agent's API reads a request.
/// </summary>
internal static class SampleRequest
{
    /// <param name="option">The option that named the file, for the messages.</param>
    public static IReadOnlyList<InferenceTensor> Read(FileInfo file, string option = "--sample")
    {
        ArgumentNullException.ThrowIfNull(file);
        if (!file.Exists)
        {
            throw new FileNotFoundException($"{option} {file.FullName} does not exist", file.FullName);
        }

        var bytes = File.ReadAllBytes(file.FullName);
        try
        {
            return InferRequestReader.Read(bytes, HeaderLength(bytes)).Request.Inputs;
        }
        catch (ProtocolException e)
        {
            throw new ArgumentException($"{option} {file.Name} is not an Open Inference Protocol request: {e.Message}");
        }
    }

    /// <summary>Where the JSON header ends when binary data follows it; null for a file of JSON alone.</summary>
    internal static long? HeaderLength(ReadOnlySpan<byte> bytes)
    {
        var reader = new Utf8JsonReader(bytes, isFinalBlock: false, state: default);
        try
        {
            if (!reader.Read() || !reader.TrySkip())
            {
                return null;
            }
        }
        catch (JsonException)
        {
            return null; // the reader says what is wrong with it
        }

        var end = reader.BytesConsumed;
        return bytes[(int)end..].Trim(" \t\r\n"u8).IsEmpty ? null : end;
    }
}
