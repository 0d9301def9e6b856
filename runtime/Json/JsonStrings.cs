using System.Text.Json;
using System.Text.Unicode;

namespace EdgeMl.Runtime.Json;

/// <summary>
/// <see cref="JsonDocument"/> and <see cref="System.Text.Json.Nodes.JsonNode"/> accept a string holding bytes that are
/// not UTF-8, or an escaped lone surrogate (<c>"\ud800"</c>), and throw <see cref="InvalidOperationException"/> only
/// when the string is read, deep inside whatever reads it. Found by the fuzz harnesses: an infer request answered 500
/// instead of 400, a twin patch the agent failed to apply. Callers check once, right after parsing.
/// </summary>
public static class JsonStrings
{
    /// <summary>Whether every property name and string value of <paramref name="utf8Json"/> reads as text.</summary>
    /// <exception cref="JsonException">The document is not JSON.</exception>
    public static bool AreValid(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, MaxDepth = 1024 });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName))
                {
                    continue;
                }

                if (!reader.ValueIsEscaped)
                {
                    if (!Utf8.IsValid(reader.ValueSpan))
                    {
                        return false;
                    }
                }
                else
                {
                    _ = reader.GetString();
                }
            }
        }
        catch (InvalidOperationException)
        {
            return false;
        }

        return true;
    }
}
