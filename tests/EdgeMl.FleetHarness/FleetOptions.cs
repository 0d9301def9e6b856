using System.Globalization;

namespace EdgeMl.FleetHarness;

/// <summary>How big a fleet, how it rolls out, and how long each phase is watched.</summary>
internal sealed class FleetOptions
{
    public int Agents { get; set; } = 50;

    /// <summary>The share of the fleet tagged <c>ring=canary</c>: the first stage's target (at least one device).</summary>
    public double CanaryShare { get; set; } = 0.1;

    /// <summary>Agents starting at the same time: start-up is the CPU-heavy part (JIT, model load, warm-up).</summary>
    public int StartConcurrency { get; set; } = 3;

    /// <summary>Closed-loop callers sending inference requests across the fleet during the rollout.</summary>
    public int LoadCallers { get; set; } = 2;

    /// <summary>How long the hub stays down when it restarts.</summary>
    public TimeSpan HubDowntime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The quiet window after the restart in which steady-state traffic is counted.</summary>
    public TimeSpan SteadyWindow { get; set; } = TimeSpan.FromMinutes(6);

    /// <summary>Guards each phase against a hang; never a measured figure.</summary>
    public TimeSpan PhaseTimeout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The ONNX file published as v1 and v2 (the fixture classifier by default).</summary>
    public string? Model { get; set; }

    /// <summary>Where keys, registry and each agent's data folder go (a fresh temporary folder by default).</summary>
    public string? WorkDirectory { get; set; }

    /// <summary>Extra <c>--EdgeMl:…</c> settings for every agent.</summary>
    public List<string> AgentSettings { get; } = [];

    public static FleetOptions Parse(IReadOnlyList<string> args)
    {
        var options = new FleetOptions();
        for (var i = 0; i < args.Count; i++)
        {
            string Next() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--agents":
                    options.Agents = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--canary":
                    options.CanaryShare = double.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--start-concurrency":
                    options.StartConcurrency = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--load-callers":
                    options.LoadCallers = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--hub-down":
                    options.HubDowntime = TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture));
                    break;
                case "--steady":
                    options.SteadyWindow = TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture));
                    break;
                case "--model":
                    options.Model = Next();
                    break;
                case "--work":
                    options.WorkDirectory = Next();
                    break;
                default:
                    if (args[i].StartsWith("--EdgeMl:", StringComparison.Ordinal))
                    {
                        options.AgentSettings.Add(args[i]);
                        break;
                    }

                    throw new ArgumentException($"unknown argument '{args[i]}'");
            }
        }

        if (options.Agents < 1 || options.CanaryShare is <= 0 or > 1 || options.StartConcurrency < 1 || options.LoadCallers < 1)
        {
            throw new ArgumentException("--agents, --start-concurrency and --load-callers must be at least 1, --canary within (0, 1]");
        }

        return options;
    }
}
