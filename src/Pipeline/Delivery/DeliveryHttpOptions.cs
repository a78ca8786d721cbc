using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Pipeline.Delivery;

/// <summary>
/// The HTTP side of a sink on the delivery layer, in one place for every sink: authentication (basic, bearer, a bearer
/// token file re-read when it changes, API-key headers), TLS, proxy, time-outs, the bound on error bodies read, and
/// the retry policy. Sinks map their own (public, config-named) options onto it.
/// </summary>
public sealed class DeliveryHttpOptions
{
    /// <summary>Default <see cref="MaxErrorBody"/>: 4 KiB.</summary>
    public const int DefaultMaxErrorBody = 4096;

    /// <summary>The time allowed for one request, measured on the pipeline's clock (and the connect time-out).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How many bytes of an error response are read (for the log); the rest is never read.</summary>
    public int MaxErrorBody { get; init; } = DefaultMaxErrorBody;

    /// <summary>The HTTP version requested; lower ones are allowed when the server offers less.</summary>
    public Version HttpVersion { get; init; } = System.Net.HttpVersion.Version11;

    /// <summary>The basic-auth user name.</summary>
    public string? BasicAuthUsername { get; init; }

    /// <summary>The basic-auth password.</summary>
    public string? BasicAuthPassword { get; init; }

    /// <summary>A bearer token.</summary>
    public string? BearerToken { get; init; }

    /// <summary>A file holding the bearer token; re-read when its modification time changes (rotated service-account tokens).</summary>
    public string? BearerTokenFile { get; init; }

    /// <summary>Headers sent with every request (API keys, tenant headers); they replace headers of the same name.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    /// <summary>A PEM file of CA certificates to trust instead of the system store.</summary>
    public string? CaFile { get; init; }

    /// <summary>A PEM client certificate for mutual TLS (with <see cref="KeyFile"/>).</summary>
    public string? CertFile { get; init; }

    /// <summary>The PEM private key of <see cref="CertFile"/>.</summary>
    public string? KeyFile { get; init; }

    /// <summary>The server name to verify the certificate against, when it differs from the URL's host.</summary>
    public string? ServerName { get; init; }

    /// <summary>Accept any server certificate (testing only).</summary>
    public bool InsecureSkipVerify { get; init; }

    /// <summary>An HTTP proxy, or <see langword="null"/> for none.</summary>
    public Uri? ProxyUrl { get; init; }

    /// <summary>How retryable failures are retried.</summary>
    public DeliveryRetryOptions Retry { get; init; } = new();

    /// <summary>Builds a pooled handler with the TLS, proxy and connect time-out settings.</summary>
    /// <returns>The handler.</returns>
    public SocketsHttpHandler CreateHandler()
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = Timeout,
            AutomaticDecompression = DecompressionMethods.None,
            EnableMultipleHttp2Connections = true,
        };
        if (ProxyUrl is not null)
        {
            handler.Proxy = new WebProxy(ProxyUrl);
            handler.UseProxy = true;
        }

        if (ServerName is not null)
        {
            handler.SslOptions.TargetHost = ServerName;
        }

        if (CertFile is not null)
        {
            handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(CertFile, KeyFile)];
        }

        if (InsecureSkipVerify)
        {
#pragma warning disable CA5359 // Explicit opt-in (Promtail's insecure_skip_verify), documented as testing only.
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
#pragma warning restore CA5359
        }
        else if (CaFile is not null)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(CaFile);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(certificate));
            };
        }

        return handler;
    }
}

/// <summary>The <c>Authorization</c> header of <see cref="DeliveryHttpOptions"/>, with the token file re-read when it changes.</summary>
internal sealed class DeliveryAuthorization
{
    private readonly AuthenticationHeaderValue? _static;
    private readonly string? _tokenFile;
    private readonly Lock _lock = new();
    private DateTime _tokenFileTime;
    private AuthenticationHeaderValue? _tokenFileValue;

    public DeliveryAuthorization(DeliveryHttpOptions options)
    {
        _tokenFile = options.BearerTokenFile;
        if (options.BasicAuthUsername is not null)
        {
            var raw = Encoding.UTF8.GetBytes($"{options.BasicAuthUsername}:{options.BasicAuthPassword}");
            _static = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(raw));
        }
        else if (options.BearerToken is not null)
        {
            _static = new AuthenticationHeaderValue("Bearer", options.BearerToken);
        }
    }

    public AuthenticationHeaderValue? Get()
    {
        if (_tokenFile is not { } path)
        {
            return _static;
        }

        // Re-read the token when the file changes (Kubernetes rotates projected service-account tokens).
        var time = File.GetLastWriteTimeUtc(path);
        lock (_lock)
        {
            if (_tokenFileValue is null || time != _tokenFileTime)
            {
                _tokenFileValue = new AuthenticationHeaderValue("Bearer", File.ReadAllText(path).Trim());
                _tokenFileTime = time;
            }

            return _tokenFileValue;
        }
    }
}
