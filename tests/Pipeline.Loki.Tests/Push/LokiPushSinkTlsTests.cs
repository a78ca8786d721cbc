using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Pipeline.Loki.Push;

namespace Pipeline.Loki.Tests.Push;

public sealed class LokiPushSinkTlsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("loki-tls-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Tls_ServerCertificateTrustedThroughCaFile_Delivers()
    {
        using var certificate = CreateCertificate();
        var caFile = Path.Combine(_directory, "ca.pem");
        await File.WriteAllTextAsync(caFile, certificate.ExportCertificatePem());
        await using var loki = await FakeLoki.StartAsync(certificate: certificate);
        Assert.Equal("https", loki.PushUrl.Scheme);
        var options = new LokiPushSinkOptions { Url = loki.PushUrl };
        options.Tls.CaFile = caFile;
        await using var sink = new SinkHarness(options);

        await sink.WriteLinesAsync("api", "over tls");
        await sink.CompleteAsync();

        Assert.Equal(["over tls"], Assert.Single(loki.Received).Lines);
        Assert.Equal(1, sink.Tracker.CommittedPosition);
    }

    [Fact]
    public async Task Tls_UntrustedServerCertificate_IsANetworkErrorAndRetried()
    {
        using var certificate = CreateCertificate();
        await using var loki = await FakeLoki.StartAsync(certificate: certificate);
        await using var sink = new SinkHarness(new LokiPushSinkOptions { Url = loki.PushUrl, MaxRetries = 1 });

        await sink.WriteLinesAsync("api", "rejected handshake");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (sink.Tracker.CommittedPosition < 1)
        {
            Assert.True(DateTime.UtcNow < deadline, "the batch was neither delivered nor dropped");
            sink.Time.Advance(TimeSpan.FromMilliseconds(500));
            await sink.Tracker.WaitForCommitAsync(1).WaitAsync(TimeSpan.FromMilliseconds(20)).ContinueWith(_ => { });
        }

        Assert.Empty(loki.Received);
        Assert.Equal(1, SinkHarness.Sum(sink.Dropped, "max_retries"));
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }
}
