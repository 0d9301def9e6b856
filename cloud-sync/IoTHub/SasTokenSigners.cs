namespace EdgeMl.CloudSync.IoTHub;

/// <summary>Signs the SAS string-to-sign with the identity's key, wherever that key lives.</summary>
internal interface ISasTokenSigner
{
    Task<string> SignAsync(string stringToSign, CancellationToken cancellationToken);
}

internal sealed class SharedKeySigner(string base64Key) : ISasTokenSigner
{
    public Task<string> SignAsync(string stringToSign, CancellationToken cancellationToken) =>
        Task.FromResult(SasToken.Sign(base64Key, stringToSign));
}

/// <summary>The IoT Edge security daemon holds the module key; it signs through the workload API.</summary>
internal sealed class WorkloadApiSigner(WorkloadApiClient workload, string moduleId, string generationId) : ISasTokenSigner
{
    public Task<string> SignAsync(string stringToSign, CancellationToken cancellationToken) =>
        workload.SignAsync(moduleId, generationId, stringToSign, cancellationToken);
}

/// <summary>Produces the CONNECT password: a fresh token on every connect, as the SDKs do.</summary>
internal sealed class SasTokenProvider(ISasTokenSigner signer, string resourceUri, TimeProvider time, TimeSpan timeToLive, string? keyName = null)
{
    public TimeSpan TimeToLive => timeToLive;

    public async Task<(string Token, DateTimeOffset ExpiresAt)> CreateAsync(CancellationToken cancellationToken)
    {
        var expires = time.GetUtcNow() + timeToLive;
        var se = expires.ToUnixTimeSeconds();
        var (sr, toSign) = SasToken.Prepare(resourceUri, se);
        var sig = await signer.SignAsync(toSign, cancellationToken);
        return (SasToken.Format(sr, sig, se, keyName), DateTimeOffset.FromUnixTimeSeconds(se));
    }
}
