using EdgeMl.CloudSync.Secrets;
using Microsoft.Extensions.Logging;

namespace EdgeMl.CloudSync.Registries;

/// <summary>Asks every registered <see cref="IRegistryKind"/> whether it takes a target and opens it with the most specific one.</summary>
internal sealed class ModelRegistryFactory(IEnumerable<IRegistryKind> kinds, ILogger<ModelRegistryFactory> logger) : IModelRegistryFactory
{
    private readonly IRegistryKind[] _kinds = [.. kinds];

    public IModelRegistry Create(string target)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(target);
        IRegistryKind? chosen = null;
        var best = RegistryClaim.None;
        foreach (var kind in _kinds)
        {
            var claim = kind.Claim(target);
            if (claim > best)
            {
                (chosen, best) = (kind, claim);
            }
        }

        if (chosen is null)
        {
            throw new ArgumentException(
                $"no registry kind takes '{SecretRedactor.RedactValue(target)}'; a registry is {string.Join("; or ", _kinds.Select(k => $"{k.Name}: {k.Takes}"))}", nameof(target));
        }

        var registry = chosen.Open(target);
        Log.RegistryOpened(logger, registry.Description, chosen.Name);
        return registry;
    }
}
