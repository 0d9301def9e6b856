using System.Text.Json.Nodes;

namespace EdgeMl.Agent.Tests.EndToEnd;

/// <summary>
/// What a Kubernetes kubelet or a load balancer sees: server readiness, one model's readiness and liveness, asked in
/// turn every 20 ms from before the process listens until it is gone. An answer is its status code, or 0 when nothing
/// answered (not listening yet, or gone).
/// </summary>
internal sealed class ReadinessProbe : IAsyncDisposable
{
    public const string Ready = "/v2/health/ready";
    public const string Live = "/v2/health/live";

    private readonly List<Answer> _answers = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpClient _http;
    private readonly Task _loop;

    private ReadinessProbe(Uri address, IReadOnlyList<string> paths)
    {
        _http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(5) };
        Paths = paths;
        _loop = Task.Run(LoopAsync);
    }

    public IReadOnlyList<string> Paths { get; }

    public static ReadinessProbe Start(AgentProcess agent, string model) =>
        new(agent.Http.BaseAddress!, [Ready, $"/v2/models/{model}/ready", Live]);

    public IReadOnlyList<Answer> Answers
    {
        get
        {
            lock (_answers)
            {
                return [.. _answers];
            }
        }
    }

    /// <summary>The number of answers so far: answers from here on came after whatever the caller does next.</summary>
    public int Mark()
    {
        lock (_answers)
        {
            return _answers.Count;
        }
    }

    /// <summary>Waits until <paramref name="path"/> has answered <paramref name="status"/> at or after <paramref name="from"/>.</summary>
    public async Task<Answer> WaitForAsync(string path, int status, int from = 0)
    {
        var guard = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (DateTime.UtcNow < guard)
        {
            if (Answers.Skip(from).FirstOrDefault(a => a.Path == path && a.Status == status) is { } answer)
            {
                return answer;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"{path} did not answer {status}; last: {Answers.LastOrDefault(a => a.Path == path)}");
    }

    /// <summary>The answers of one path before <paramref name="end"/> that are not 200 but come after a 200: what must never happen.</summary>
    public IReadOnlyList<Answer> FallsBack(string path, int end)
    {
        var answers = Answers.Take(end).Where(a => a.Path == path).ToList();
        var first = answers.FindIndex(a => a.Status == 200);
        return first < 0 ? [] : answers.Skip(first).Where(a => a.Status != 200).ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _http.Dispose();
        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            foreach (var path in Paths)
            {
                var answer = await AskAsync(path);
                lock (_answers)
                {
                    _answers.Add(answer);
                }
            }

            try
            {
                await Task.Delay(20, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<Answer> AskAsync(string path)
    {
        try
        {
            using var response = await _http.GetAsync(path, _stop.Token);
            var body = await response.Content.ReadAsStringAsync(_stop.Token);
            var reason = response.IsSuccessStatusCode ? null : TryReason(body);
            return new Answer(path, (int)response.StatusCode, reason, DateTime.UtcNow);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return new Answer(path, 0, e.Message, DateTime.UtcNow);
        }
    }

    private static string? TryReason(string body)
    {
        try
        {
            var json = JsonNode.Parse(body);
            return json?["reason"]?.GetValue<string>() ?? json?["error"]?.GetValue<string>();
        }
        catch (System.Text.Json.JsonException)
        {
            return body;
        }
    }

    /// <param name="Status">The HTTP status, or 0 when nothing answered.</param>
    /// <param name="Reason">The <c>reason</c> (server ready) or <c>error</c> (model ready) of a non-200 answer.</param>
    public sealed record Answer(string Path, int Status, string? Reason, DateTime At);
}
