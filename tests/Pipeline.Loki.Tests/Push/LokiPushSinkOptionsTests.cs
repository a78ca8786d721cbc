using Pipeline.Loki.Push;

namespace Pipeline.Loki.Tests.Push;

public class LokiPushSinkOptionsTests
{
    public static TheoryData<string, Action<LokiPushSinkOptions>, string> Invalid => new()
    {
        { "no url", o => o.Url = null, "Url is required" },
        { "relative url", o => o.Url = new Uri("/push", UriKind.Relative), "must be an absolute http:// or https:// URL" },
        { "ftp url", o => o.Url = new Uri("ftp://x/"), "must be an absolute http:// or https:// URL" },
        { "zero batch wait", o => o.BatchWait = TimeSpan.Zero, "BatchWait must be positive" },
        { "zero batch size", o => o.BatchSize = 0, "BatchSize must be at least 1 byte" },
        { "small max request", o => o.MaxRequestSize = 10, "MaxRequestSize must be at least 1024 bytes" },
        { "max below min backoff", o => o.MaxBackoff = TimeSpan.FromMilliseconds(100), "MaxBackoff (00:00:00.1000000) must be at least MinBackoff (00:00:00.5000000)" },
        { "negative retries", o => o.MaxRetries = -1, "MaxRetries must be 0 or more" },
        { "zero timeout", o => o.Timeout = TimeSpan.Zero, "Timeout must be positive" },
        { "two credentials", o => { o.BasicAuthUsername = "u"; o.BearerToken = "t"; }, "Set at most one of" },
        { "password without user", o => o.BasicAuthPassword = "p", "BasicAuthPassword is set but BasicAuthUsername is empty" },
        { "missing token file", o => o.BearerTokenFile = "/nonexistent/token", "BearerTokenFile '/nonexistent/token' does not exist" },
        { "cert without key", o => o.Tls.CertFile = typeof(LokiPushSinkOptionsTests).Assembly.Location, "Tls.CertFile and Tls.KeyFile must be set together" },
        { "bad external label", o => o.ExternalLabels["1bad"] = "x", "ExternalLabels are invalid: invalid label name '1bad'" },
        { "bad header", o => o.Headers["X-A"] = "a\r\nb", "Header 'X-A' is invalid" },
        { "bad tenant", o => o.TenantId = "a|b", "TenantId 'a|b' is invalid" },
        { "http 3", o => o.HttpVersion = new Version(3, 0), "HttpVersion 3.0 is not supported" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Constructor_InvalidOption_ThrowsNamingIt(string name, Action<LokiPushSinkOptions> configure, string expected)
    {
        var options = new LokiPushSinkOptions { Url = new Uri("http://127.0.0.1:3100/loki/api/v1/push") };
        configure(options);

        var e = Assert.ThrowsAny<ArgumentException>(() => new LokiPushSink(options));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(name));
    }

    [Fact]
    public void Defaults_MatchPromtailButNeverDropAndNoticeRecoveryWithinSeconds()
    {
        var options = new LokiPushSinkOptions();

        Assert.Equal(TimeSpan.FromSeconds(1), options.BatchWait);
        Assert.Equal(1024 * 1024, options.BatchSize);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.MinBackoff);
        Assert.Equal(TimeSpan.FromSeconds(5), options.MaxBackoff);
        Assert.Null(options.MaxRetries);
        Assert.Equal(TimeSpan.FromSeconds(10), options.Timeout);
    }
}
