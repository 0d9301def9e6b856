using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Sessions;

namespace EdgeMl.Runtime.Packages;

/// <summary>
/// Activation through the serving engine: the candidate is loaded, warmed up and golden-checked beside the
/// running version and swapped in only when all pass. The store writes <c>active.json</c> after this accepts.
/// </summary>
public sealed class EngineValidator(InferenceEngine engine, ModelRuntimeSettings? settings = null) : IPackageValidator
{
    public async Task<PackageValidation> ValidateAsync(ModelPackage candidate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ModelDefinition definition;
        try
        {
            definition = candidate.CreateDefinition(settings);
        }
        catch (ModelManifestException e)
        {
            return PackageValidation.Reject("Manifest", e.Message);
        }

        var result = await engine.ActivateAsync(definition, cancellationToken).ConfigureAwait(false);
        return result.Failure is { } failure ? PackageValidation.Reject(failure.Stage.ToString(), failure.Reason) : PackageValidation.Accept;
    }
}

/// <summary>
/// The runtime's load, warm-up and golden check without serving: for a one-shot pull (the CLI) that only
/// decides whether the version may become active. The loaded model is released at once.
/// </summary>
public sealed class LoaderValidator(ModelLoader loader, ModelRuntimeSettings? settings = null) : IPackageValidator
{
    public async Task<PackageValidation> ValidateAsync(ModelPackage candidate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        try
        {
            using var loaded = await loader.LoadAsync(candidate.CreateDefinition(settings), cancellationToken).ConfigureAwait(false);
            return PackageValidation.Accept;
        }
        catch (ModelLoadException e)
        {
            return PackageValidation.Reject(e.Stage.ToString(), e.Reason);
        }
        catch (ModelManifestException e)
        {
            return PackageValidation.Reject("Manifest", e.Message);
        }
    }
}
