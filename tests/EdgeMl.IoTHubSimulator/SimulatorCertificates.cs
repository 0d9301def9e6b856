using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace EdgeMl.IoTHubSimulator;

/// <summary>A throw-away CA and a server certificate it signed (CN/SAN localhost, 127.0.0.1, ::1 and the hub host), made in-process.</summary>
public sealed class SimulatorCertificates : IDisposable
{
    private SimulatorCertificates(X509Certificate2 ca, X509Certificate2 server)
    {
        CertificateAuthority = ca;
        ServerCertificate = server;
    }

    public X509Certificate2 CertificateAuthority { get; }

    public X509Certificate2 ServerCertificate { get; }

    public string CertificateAuthorityPem => CertificateAuthority.ExportCertificatePem();

    public static SimulatorCertificates Create(params string[] extraHostNames)
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=EdgeMl IoT Hub Simulator CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var caWithKey = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        foreach (var host in extraHostNames)
        {
            san.AddDnsName(host);
        }

        serverRequest.CertificateExtensions.Add(san.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var serial = RandomNumberGenerator.GetBytes(12);
        using var server = serverRequest.Create(caWithKey, now.AddDays(-1), now.AddDays(29), serial);
        using var serverWithKey = server.CopyWithPrivateKey(serverKey);

        // Re-import through PKCS#12 so SslStream gets a persisted key on every platform.
        var pfx = X509CertificateLoader.LoadPkcs12(serverWithKey.Export(X509ContentType.Pfx), null);
        var caPublic = X509CertificateLoader.LoadCertificate(caWithKey.Export(X509ContentType.Cert));
        return new SimulatorCertificates(caPublic, pfx);
    }

    /// <summary>A client certificate for X.509 identities (self-signed; the hub matches its thumbprint).</summary>
    public static X509Certificate2 CreateClientCertificate(string deviceId)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={deviceId}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    public void Dispose()
    {
        CertificateAuthority.Dispose();
        ServerCertificate.Dispose();
    }
}
