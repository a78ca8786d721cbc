using Microsoft.AspNetCore.Http;

namespace Pipeline.Loki.Receiver;

/// <summary>Settings of a <see cref="LokiPushReceiver"/>.</summary>
public sealed class LokiPushReceiverOptions
{
    /// <summary>Default largest request body as sent: 4 MiB, like a typical Loki gateway.</summary>
    public const long DefaultMaxRequestBodyBytes = 4L * 1024 * 1024;

    /// <summary>Default largest decompressed body: 64 MiB.</summary>
    public const int DefaultMaxDecompressedBodyBytes = 64 * 1024 * 1024;

    /// <summary>Default time a request may wait for the pipeline to take its first entries before it is answered 503.</summary>
    public static readonly TimeSpan DefaultHandOffTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// When set, the receiver runs its own HTTP listener on this address and port (e.g. <c>0.0.0.0:3500</c>, port 0 for a
    /// free one) serving <c>POST /loki/api/v1/push</c> and <c>GET /ready</c>; when <see langword="null"/> (default), mount
    /// <see cref="LokiPushReceiver.HandleAsync"/> in your own ASP.NET app.
    /// </summary>
    public string? ListenAddress { get; set; }

    /// <summary>Largest request body as sent (413 above). Default <see cref="DefaultMaxRequestBodyBytes"/>.</summary>
    public long MaxRequestBodyBytes { get; set; } = DefaultMaxRequestBodyBytes;

    /// <summary>Largest body after decompression (413 above). Default <see cref="DefaultMaxDecompressedBodyBytes"/>.</summary>
    public int MaxDecompressedBodyBytes { get; set; } = DefaultMaxDecompressedBodyBytes;

    /// <summary>Whether entries keep the timestamp the client sent (default); otherwise they get the time of receipt (Promtail's <c>use_incoming_timestamp: false</c>).</summary>
    public bool UseIncomingTimestamp { get; set; } = true;

    /// <summary>Labels added to every stream (a stream's own label of the same name wins, as in Promtail's push target).</summary>
    public IDictionary<string, string> Labels { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Finds the tenant of a request (and checks its credentials); default <see cref="PushTenant.FromOrgIdHeader"/>:
    /// <c>X-Scope-OrgID</c> when present.
    /// </summary>
    public Func<HttpContext, PushTenant> ResolveTenant { get; set; } = PushTenant.FromOrgIdHeader;

    /// <summary>
    /// How long a request waits for the pipeline to take its first entries (the stages and sinks are full) before it is
    /// answered 503 with nothing stored, so a client backs off instead of piling up. Default <see cref="DefaultHandOffTimeout"/>.
    /// </summary>
    public TimeSpan HandOffTimeout { get; set; } = DefaultHandOffTimeout;

    /// <summary>
    /// Called when a request is answered 413 because its body (as sent, or decompressed) is over the limit, with the tenant
    /// (<see langword="null"/> for the default) and the bytes seen — e.g. to count Loki's <c>request_body_too_large</c> discards.
    /// </summary>
    public Action<string?, long>? OnRequestTooLarge { get; set; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRequestBodyBytes, 1, nameof(MaxRequestBodyBytes));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxRequestBodyBytes, Array.MaxLength - 1, nameof(MaxRequestBodyBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDecompressedBodyBytes, 1, nameof(MaxDecompressedBodyBytes));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(HandOffTimeout, TimeSpan.Zero, nameof(HandOffTimeout));
        ArgumentNullException.ThrowIfNull(ResolveTenant, nameof(ResolveTenant));
        foreach (var (name, _) in Labels)
        {
            if (!Model.LabelSet.TryCreate([new Model.Label(name, "x")], out _, out var error))
            {
                throw new ArgumentException($"Labels: '{name}' is not a valid label name: {error}", nameof(Labels));
            }
        }

        if (ListenAddress is not null && !System.Net.IPEndPoint.TryParse(ListenAddress, out _))
        {
            throw new ArgumentException($"ListenAddress '{ListenAddress}' is not an address with a port, e.g. 0.0.0.0:3500.", nameof(ListenAddress));
        }
    }
}
