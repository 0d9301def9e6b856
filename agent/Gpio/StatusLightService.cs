using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Gpio;

/// <summary>Keeps the status lights in step with the agent: wakes at each blink transition or status poll.</summary>
internal sealed class StatusLightService(
    IOptions<GpioOptions> options, GpioPins pins, IAgentStatusSignal status, TimeProvider time, ILogger<StatusLightService> logger) : BackgroundService
{
    private StatusLights? _lights;

    /// <summary>Opens the light pins before the host finishes starting: a wrong pin fails the start.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.Lights.Count > 0)
        {
            _lights = new StatusLights(pins.Controller, settings.Lights, status, time);
            _lights.Open();
            Log.GpioLightsStarted(logger, string.Join(", ", settings.Lights.Select(l => $"{l.Pin}={l.Signal}")));
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_lights is null)
        {
            return;
        }

        var settings = options.Value;
        AgentSignal? shown = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                wait = _lights.Update(settings.StatusPollInterval);
                if (_lights.Signal != shown)
                {
                    Log.GpioSignalChanged(logger, shown?.ToString() ?? "none", _lights.Signal!.Value);
                    shown = _lights.Signal;
                }
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
            {
                // A light is a convenience: a driver hiccup must not stop the agent; try again next poll.
                Log.GpioLightFailed(logger, e);
                wait = settings.StatusPollInterval;
            }

            await Task.Delay(wait, time, stoppingToken).ConfigureAwait(false);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        _lights?.TurnOff();
    }
}
