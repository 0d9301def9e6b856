using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using EdgeMl.Testing;

namespace EdgeMl.FleetHarness;

/// <summary>
/// Closed-loop callers sending binary Open Inference Protocol requests round-robin across the fleet, as clients
/// beside each device would: every answer that is not 200 (or never comes) is a failed request.
/// </summary>
internal sealed class LoadGenerator
{
    private const string Model = FleetRollout.Model;
    private readonly IReadOnlyList<FleetAgent> _agents;
    private readonly byte[] _body;
    private readonly int _headerLength;
    private readonly List<string> _failures = [];
    private readonly HashSet<string> _answeredByV1 = new(StringComparer.Ordinal);
    private readonly HashSet<string> _answeredByV2 = new(StringComparer.Ordinal);
    private long _requests;
    private long _sent;
    private long _byV1;
    private long _byV2;

    public LoadGenerator(IReadOnlyList<FleetAgent> agents)
    {
        _agents = agents;
        var data = ModelFixtures.SampleInput(ModelFixtures.ClassifierShape, seed: 7);
        var header = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = ModelFixtures.ClassifierInput,
                ["datatype"] = "FP32",
                ["shape"] = new JsonArray(1, 3, 48, 192),
                ["parameters"] = new JsonObject { ["binary_data_size"] = data.Length * 4 },
            }),
            ["outputs"] = new JsonArray(new JsonObject { ["name"] = ModelFixtures.ClassifierOutput, ["parameters"] = new JsonObject { ["binary_data"] = true } }),
        }.ToJsonString());
        _body = new byte[header.Length + (data.Length * 4)];
        header.CopyTo(_body, 0);
        Buffer.BlockCopy(data, 0, _body, header.Length, data.Length * 4);
        _headerLength = header.Length;
    }

    public long Requests => Interlocked.Read(ref _requests);

    public long AnsweredByV1 => Interlocked.Read(ref _byV1);

    public long AnsweredByV2 => Interlocked.Read(ref _byV2);

    /// <summary>Every agent has answered at least once with <paramref name="version"/>: the load covered the whole fleet.</summary>
    public bool EveryAgentAnswered(string version)
    {
        var set = version == "2" ? _answeredByV2 : _answeredByV1;
        lock (set)
        {
            return set.Count == _agents.Count;
        }
    }

    public IReadOnlyList<string> Failures
    {
        get
        {
            lock (_failures)
            {
                return [.. _failures];
            }
        }
    }

    public Task RunAsync(int callers, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(() => CallAsync(stop), CancellationToken.None)));

    private async Task CallAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var agent = _agents[(int)(Interlocked.Increment(ref _sent) % _agents.Count)];
            using var content = new ByteArrayContent(_body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            content.Headers.Add("Inference-Header-Content-Length", _headerLength.ToString(CultureInfo.InvariantCulture));
            try
            {
                // Never cancelled by the stop: a request once sent is answered and counted.
                using var response = await agent.Http.PostAsync($"/v2/models/{Model}/infer", content, CancellationToken.None);
                var bytes = await response.Content.ReadAsByteArrayAsync(CancellationToken.None);
                Interlocked.Increment(ref _requests);
                if (!response.IsSuccessStatusCode)
                {
                    Fail($"{agent.Identity.Key}: {(int)response.StatusCode} {Encoding.UTF8.GetString(bytes)}");
                    continue;
                }

                var length = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), CultureInfo.InvariantCulture);
                var version = JsonNode.Parse(bytes.AsSpan(0, length))!["model_version"]!.GetValue<string>();
                Interlocked.Increment(ref version == "2" ? ref _byV2 : ref _byV1);
                var answered = version == "2" ? _answeredByV2 : _answeredByV1;
                lock (answered)
                {
                    answered.Add(agent.Identity.Key);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref _requests);
                Fail($"{agent.Identity.Key}: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    private void Fail(string what)
    {
        lock (_failures)
        {
            _failures.Add(what);
        }
    }
}
