using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Serving;

/// <summary>Where a stop stands; see <see cref="ShutdownDrain"/>.</summary>
internal enum DrainPhase
{
    /// <summary>No stop asked for.</summary>
    Serving,

    /// <summary>Readiness answers 503; requests are still served until the drain window ends.</summary>
    Draining,

    /// <summary>New requests are answered 503 with Retry-After; those in flight finish.</summary>
    Refusing,
}

/// <summary>
/// The stop, in the order that fails no request: on SIGTERM readiness turns 503 at once while requests are still
/// served for <see cref="AgentOptions.DrainWindow"/> (what routes by readiness needs that long to stop sending them
/// here); then new requests are refused with 503 and Retry-After while those in flight finish; only then does the host
/// stop the server and the other services (MQTT says <c>offline</c>), all within <see cref="AgentOptions.ShutdownTimeout"/>.
/// </summary>
/// <remarks>
/// A lifecycle service because the host calls every <see cref="IHostedLifecycleService.StoppingAsync"/> before it
/// stops any service, the web server included. Ctrl+C (SIGINT) skips the drain window: a person at a terminal asked,
/// not an orchestrator that routes by readiness; requests in flight still finish.
/// </remarks>
internal sealed class ShutdownDrain(IOptions<AgentOptions> options, TimeProvider time, ILogger<ShutdownDrain> logger) : IHostedLifecycleService, IDisposable
{
    /// <summary>What a refused request is told to wait before it tries again: about as long as a module takes to come back.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _interrupted = new();
    private PosixSignalRegistration? _sigint;
    private int _phase;
    private int _inFlight;
    private volatile bool _started;

    /// <summary>Raised when the phase moves on; handlers must not block.</summary>
    public event EventHandler? Changed;

    public DrainPhase Phase => (DrainPhase)Volatile.Read(ref _phase);

    /// <summary>Requests counted in and not yet out.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Counts a request in; false once new requests are refused (the caller answers 503 and does not call <see cref="Exit"/>).</summary>
    public bool TryEnter()
    {
        Interlocked.Increment(ref _inFlight);
        if (Phase != DrainPhase.Refusing)
        {
            return true;
        }

        Exit();
        return false;
    }

    public void Exit()
    {
        if (Interlocked.Decrement(ref _inFlight) == 0 && Phase == DrainPhase.Refusing)
        {
            _idle.TrySetResult();
        }
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (!_started)
        {
            // A start that failed served nothing: there is no request to let finish and no window to keep.
            Move(DrainPhase.Refusing);
            return;
        }

        var window = _interrupted.IsCancellationRequested ? TimeSpan.Zero : options.Value.DrainWindow;
        Move(DrainPhase.Draining);
        Log.DrainStarted(logger, window, InFlight);
        using (var windowEnds = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _interrupted.Token))
        {
            try
            {
                await Task.Delay(window, time, windowEnds.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The shutdown limit, or a Ctrl+C after SIGTERM, came first: refuse now.
            }
        }

        Move(DrainPhase.Refusing);
        var running = InFlight;
        if (running == 0)
        {
            _idle.TrySetResult();
        }

        Log.DrainRefusing(logger, running);
        try
        {
            await _idle.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            Log.Drained(logger);
        }
        catch (OperationCanceledException)
        {
            // What is still running now is cut off by the server's own stop; say how much.
            Log.DrainTimedOut(logger, InFlight, options.Value.ShutdownTimeout);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        // Beside the host's own handler, which starts the stop; which of the two runs first does not matter.
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, _ =>
        {
            try
            {
                _interrupted.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // A Ctrl+C after the stop has finished: nothing left to shorten.
            }
        });
        return Task.CompletedTask;
    }

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        _started = true;
        return Task.CompletedTask;
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        _sigint?.Dispose();
        _interrupted.Dispose();
    }

    private void Move(DrainPhase phase)
    {
        Volatile.Write(ref _phase, (int)phase);
        Changed?.Invoke(this, EventArgs.Empty);
    }
}
