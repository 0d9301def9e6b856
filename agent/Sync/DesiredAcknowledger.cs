using System.Text.Json.Nodes;
using System.Threading.Channels;
using EdgeMl.Agent.Desired;
using EdgeMl.CloudSync.IoTHub;
using EdgeMl.CloudSync.Secrets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeMl.Agent.Sync;

/// <summary>
/// Acknowledges every writable property the twin sets, the IoT Plug and Play way (<c>value</c>, <c>ac</c>,
/// <c>av</c>, <c>ad</c>): top-level settings as 200 applied or 400 refused, each model under <c>models</c> as
/// 202 while it downloads or activates, 200 once the desired version serves, 400 for an invalid entry and 500
/// when it was refused or failed, with the reason. Only what changed is patched; everything again after a reconnect.
/// </summary>
internal sealed class DesiredAcknowledger(
    IIoTHubClient hub, DesiredStateSource desired, ModelSyncStatus sync, TimeProvider time, ILogger<DesiredAcknowledger> logger) : BackgroundService
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(300);
    private readonly Channel<bool> _dirty = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Dictionary<string, string> _sent = new(StringComparer.Ordinal);
    private bool _resendAll;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        desired.Changed += OnDesired;
        sync.Changed += OnChange;
        hub.ConnectionStateChanged += OnConnection;
        try
        {
            MarkDirty();
            while (await _dirty.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                _dirty.Reader.TryRead(out _);
                await Task.Delay(Debounce, time, stoppingToken).ConfigureAwait(false);
                try
                {
                    await SendChangesAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // An ack that cannot be built or sent now is sent with the next change or reconnect.
                    Log.AcknowledgeFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            desired.Changed -= OnDesired;
            sync.Changed -= OnChange;
            hub.ConnectionStateChanged -= OnConnection;
        }
    }

    /// <summary>The acknowledgements as they stand, by top-level reported key.</summary>
    internal JsonObject BuildAcknowledgements()
    {
        var snapshot = desired.Current;
        var version = snapshot.TwinVersion;
        var acks = new JsonObject();
        foreach (var key in desired.TwinKeys)
        {
            if (key == "models")
            {
                continue;
            }

            var issue = snapshot.Issues.FirstOrDefault(i => i.Path == key || i.Path.StartsWith(key + ".", StringComparison.Ordinal));
            acks[key] = issue is null
                ? WritablePropertyResponse.Create(snapshot.Document[key], 200, version, "applied")
                : WritablePropertyResponse.Create(snapshot.Document[key], 400, version, issue.Message);
        }

        foreach (var key in _sent.Keys.Where(k => !k.StartsWith("models.", StringComparison.Ordinal)).Except(desired.TwinKeys).ToArray())
        {
            acks[key] = null; // the twin no longer sets it: its acknowledgement is deleted
        }

        var twinModels = desired.TwinModels;
        var gone = _sent.Keys.Where(k => k.StartsWith("models.", StringComparison.Ordinal)).Select(k => k["models.".Length..]).Except(twinModels).ToArray();
        if (twinModels.Count > 0 || gone.Length > 0)
        {
            var models = new JsonObject();
            var documentModels = snapshot.Document["models"] as JsonObject;
            foreach (var name in twinModels)
            {
                var value = documentModels?[name];
                var issues = snapshot.Issues.Where(i => i.Path.StartsWith($"models.{name}", StringComparison.Ordinal)).ToArray();
                if (issues.Length > 0)
                {
                    models[name] = WritablePropertyResponse.Create(value, 400, version, string.Join("; ", issues.Select(i => i.ToString())));
                }
                else
                {
                    var (code, description) = Acknowledgement(sync.Find(name));
                    models[name] = WritablePropertyResponse.Create(value, code, version, description);
                }
            }

            foreach (var name in gone)
            {
                models[name] = null; // no longer desired: its acknowledgement is deleted
            }

            acks["models"] = models;
        }

        // The values echoed back, and reasons that quote them, must not carry a registry's key or SAS into reported properties.
        SecretRedactor.Redact(acks);
        return acks;
    }

    /// <summary>Puts <paramref name="value"/> in <paramref name="patch"/> unless it is what was last sent under <paramref name="sentKey"/>.</summary>
    private void AddIfChanged(JsonObject patch, string name, string sentKey, JsonNode? value, List<(string Key, string Text)> pending)
    {
        var text = value?.ToJsonString() ?? "null";
        if (!_sent.TryGetValue(sentKey, out var before) || before != text)
        {
            patch[name] = value?.DeepClone();
            pending.Add((sentKey, text));
        }
    }

    /// <summary>A model's acknowledgement code and description, from where its sync stands.</summary>
    private static (int Code, string Description) Acknowledgement(ModelSyncState? state) => state?.Phase switch
    {
        SyncPhase.Active => (200, state.Message is { } m ? $"v{state.ActiveVersion} serves; {m}" : $"v{state.ActiveVersion} serves"),
        SyncPhase.Refused or SyncPhase.Failed => (500, state.Message ?? state.Phase.ToString()),
        SyncPhase.Invalid => (400, state.Message ?? "invalid"),
        SyncPhase.Downloading when state.Progress is { } done =>
            // In quarters: the twin hears of a download a handful of times, not once per percent.
            (202, $"downloading v{state.TargetVersion?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "latest"}: {(int)(Math.Floor(done * 4) * 25)} %"),
        _ => (202, state?.Message ?? "pending"),
    };

    private async Task SendChangesAsync(CancellationToken cancellationToken)
    {
        if (hub.State != IoTHubConnectionState.Connected)
        {
            return; // sent in full when the connection comes back
        }

        if (Interlocked.Exchange(ref _resendAll, false))
        {
            _sent.Clear();
        }

        var acks = BuildAcknowledgements();
        var patch = new JsonObject();
        var pending = new List<(string Key, string Text)>();
        foreach (var (key, value) in acks)
        {
            if (key == "models" && value is JsonObject models)
            {
                var changed = new JsonObject();
                foreach (var (name, ack) in models)
                {
                    AddIfChanged(changed, name, $"models.{name}", ack, pending);
                }

                if (changed.Count > 0)
                {
                    patch["models"] = changed;
                }

                continue;
            }

            AddIfChanged(patch, key, key, value, pending);
        }

        if (patch.Count == 0)
        {
            return;
        }

        var result = await hub.UpdateReportedPropertiesAsync(patch, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            Log.AcknowledgementRefused(logger, result.Error.ToString(), result.Message ?? "");
            return;
        }

        foreach (var (key, text) in pending)
        {
            if (text == "null")
            {
                _sent.Remove(key);
            }
            else
            {
                _sent[key] = text;
            }
        }
    }

    private void OnChange(object? sender, EventArgs e) => MarkDirty();

    private void OnDesired(object? sender, DesiredSnapshot e) => MarkDirty();

    private void OnConnection(object? sender, IoTHubConnectionStateChangedEventArgs e)
    {
        if (e.State == IoTHubConnectionState.Connected)
        {
            // The hub may have lost nothing, but a device cannot know: everything is acknowledged again.
            // The loop forgets what it sent; this thread only asks, so the loop alone touches _sent.
            Volatile.Write(ref _resendAll, true);
            MarkDirty();
        }
    }

    private void MarkDirty() => _dirty.Writer.TryWrite(true);
}
