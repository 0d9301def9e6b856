namespace EdgeMl.CloudSync.Registries;

/// <summary>
/// One kind of model registry (a folder, a static HTTP site, a blob container): which targets it takes and how it
/// opens one. A new kind is a class implementing this, registered in
/// <see cref="DistributionServiceCollectionExtensions.AddModelRegistries"/>; what it needs (options, clock, clients,
/// credentials, loggers) comes through its constructor. <see cref="IModelRegistryFactory"/> gives a target to the kind
/// that claims it most specifically.
/// </summary>
public interface IRegistryKind
{
    /// <summary>The kind's name, for messages and logs: <c>folder</c>, <c>http</c>, <c>blob</c>.</summary>
    string Name { get; }

    /// <summary>The targets the kind takes, in words, for the message that refuses a target no kind takes.</summary>
    string Takes { get; }

    /// <summary>How specifically the kind recognises <paramref name="target"/>; <see cref="RegistryClaim.None"/> when it does not.</summary>
    RegistryClaim Claim(string target);

    /// <summary>The registry <paramref name="target"/> names; called only after <see cref="Claim"/> claimed it.</summary>
    /// <exception cref="ArgumentException">The target is of this kind but incomplete (the message says what is missing).</exception>
    IModelRegistry Open(string target);
}

/// <summary>How specifically a registry kind recognises a target; the highest claim wins, the first registered on a tie.</summary>
public enum RegistryClaim
{
    None,

    /// <summary>Whatever no other kind takes (a folder path).</summary>
    Fallback,

    /// <summary>A whole scheme (any <c>http(s)://</c> URL).</summary>
    Generic,

    /// <summary>A prefix, host or form that only this kind uses (<c>blob:</c>, <c>*.blob.core.windows.net</c>).</summary>
    Specific,
}

/// <summary>Turns what an operator types as a registry (desired state's <c>registry</c>, <c>--registry</c>) into a registry.</summary>
public interface IModelRegistryFactory
{
    /// <summary>The registry <paramref name="target"/> names, opened by the registered kind that claims it most specifically.</summary>
    /// <exception cref="ArgumentException">No registered kind takes the target, or the kind that does finds it incomplete; the message says what is expected.</exception>
    IModelRegistry Create(string target);
}
