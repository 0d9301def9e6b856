using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeMl.Agent.Events;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.CloudSync.Secrets;

namespace EdgeMl.Agent.Health;

/// <summary>
/// The health document as bytes, as the twin's compact form, and as the fingerprint that says whether it changed.
/// Every form of the health and of an event leaves through here, so here they pass the <see cref="SecretRedactor"/>:
/// a registry string or an error that carries a key, a SAS or a password goes out masked on every transport.
/// </summary>
internal static class HealthJson
{
    /// <summary>Strings longer than this are cut in the twin form (a twin string may hold 4 KB; reasons rarely need more).</summary>
    public const int TwinStringLimit = 512;

    /// <summary>Room kept under the 32 KB reported section for the agent's other reported properties.</summary>
    public const int TwinBudgetBytes = 24 * 1024;

    public static byte[] Serialize(AgentHealth health) => Utf8(ToNode(health));

    public static JsonObject ToNode(AgentHealth health) =>
        (JsonObject)SecretRedactor.Redact(JsonSerializer.SerializeToNode(health, HealthJsonContext.Default.AgentHealth))!;

    public static byte[] Serialize(AgentEvent e) =>
        JsonSerializer.SerializeToUtf8Bytes(ToJson(e), HealthJsonContext.Default.EventJson);

    /// <summary>A node written straight to UTF-8: no reflection-based serializer to warm up at the first health pass (or to trim away).</summary>
    private static byte[] Utf8(JsonNode node)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            node.WriteTo(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static EventJson ToJson(AgentEvent e) => new(e.At, e.Kind, e.Model, e.Version, SecretRedactor.RedactValue(e.Message));

    /// <summary>
    /// The document for the <c>health</c> reported property: per-tensor drift left out, long strings cut, and nulls
    /// inside arrays dropped (an array replaces its predecessor whole; object members keep their nulls, which delete
    /// the previous value in a twin merge). Shrinks further, messages first and then models, to stay within
    /// <see cref="TwinBudgetBytes"/> by the twin size rule.
    /// </summary>
    public static JsonObject ToTwin(AgentHealth health)
    {
        var node = ToNode(health);
        foreach (var model in Items(node["models"]))
        {
            if (model["drift"] is JsonObject drift)
            {
                drift.Remove("tensors");
            }
        }

        Normalize(node, inArray: false);
        if (TwinLimits.Size(node) > TwinBudgetBytes)
        {
            foreach (var entry in Items(node["models"]).SelectMany(m => Items(m["chain"])).Concat(Items(node["accelerators"]?["libraries"])))
            {
                entry.Remove("reason");
                entry.Remove("detail");
            }

            foreach (var item in Items(node["models"]).Concat(Items(node["sync"]?["models"])))
            {
                item.Remove("message");
                item.Remove("degradedReason");
                if (item["lastFailure"] is JsonObject failure)
                {
                    failure.Remove("reason");
                }
            }
        }

        foreach (var section in new[] { node["models"] as JsonArray, node["sync"]?["models"] as JsonArray })
        {
            var omitted = 0;
            while (section is { Count: > 0 } && TwinLimits.Size(node) > TwinBudgetBytes)
            {
                section.RemoveAt(section.Count - 1);
                omitted++;
            }

            if (omitted > 0)
            {
                node[section == node["models"] ? "modelsOmitted" : "syncModelsOmitted"] = omitted;
            }
        }

        return node;
    }

    /// <summary>
    /// What counts as a change: the twin form without the time of collection and the numbers that move with traffic
    /// (latency, request and drop counts, free bytes, PSI, progress); a state, version, reason or link change shows.
    /// </summary>
    public static string Fingerprint(JsonObject twin)
    {
        var node = (JsonObject)twin.DeepClone();
        node.Remove("at");
        foreach (var model in Items(node["models"]))
        {
            model.Remove("latencyMs");
            model.Remove("requests");
            model.Remove("errors");
            (model["drift"] as JsonObject)?.Remove("maxPsi");

            // batching: auto's rates move with every window; which mode serves is what matters.
            if (model["batching"] is JsonObject batching)
            {
                batching.Remove("reason");
                batching.Remove("unbatchedRate");
                batching.Remove("batchedRate");
            }
        }

        // A probation's request count and countdown, and a shadow's figures, move with every request; a phase or a
        // shadow's state does not.
        foreach (var probation in Items(node["proving"]?["probation"]))
        {
            probation.Remove("requests");
            if (probation["phase"]?.GetValue<string>() == "onProbation")
            {
                probation.Remove("message");
            }
        }

        foreach (var shadow in Items(node["proving"]?["shadows"]))
        {
            foreach (var figure in (string[])["compared", "agreed", "dropped", "agreement", "activeP95Ms", "shadowP95Ms"])
            {
                shadow.Remove(figure);
            }
        }

        (node["sync"] as JsonObject)?.Remove("lastReconcileAt");
        foreach (var model in Items(node["sync"]?["models"]))
        {
            model.Remove("progress");
        }

        (node["disk"] as JsonObject)?.Remove("freeBytes");
        (node["hub"] as JsonObject)?.Remove("droppedMessages");
        (node["broker"] as JsonObject)?.Remove("droppedEvents");
        if (node["capture"] is JsonObject capture)
        {
            capture.Remove("queued");
            capture.Remove("records");
            capture.Remove("bytes");
            capture.Remove("dropped");
        }

        return node.ToJsonString();
    }

    private static JsonObject[] Items(JsonNode? array) => array is JsonArray a ? a.OfType<JsonObject>().ToArray() : [];

    private static void Normalize(JsonNode? node, bool inArray)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o.ToArray())
                {
                    if (value is null && inArray)
                    {
                        o.Remove(key);
                    }
                    else if (value is JsonValue v && v.TryGetValue(out string? text) && text.Length > TwinStringLimit)
                    {
                        o[key] = Cut(text);
                    }
                    else
                    {
                        Normalize(value, inArray);
                    }
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    if (a[i] is JsonValue v && v.TryGetValue(out string? text) && text.Length > TwinStringLimit)
                    {
                        a[i] = Cut(text);
                    }
                    else
                    {
                        Normalize(a[i], inArray: true);
                    }
                }

                break;
        }
    }

    private static string Cut(string text)
    {
        var cut = new StringBuilder(text, 0, TwinStringLimit - 1, TwinStringLimit);
        return cut.Append('…').ToString();
    }
}
