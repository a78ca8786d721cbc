using Microsoft.AspNetCore.Http;

namespace Pipeline.Loki.Receiver;

/// <summary>
/// The tenant a push request is for, or why it is refused (missing or bad credentials, a tenant the credentials may not
/// write): what a <see cref="LokiPushReceiverOptions.ResolveTenant"/> function answers.
/// </summary>
public readonly struct PushTenant
{
    private PushTenant(string? tenant, int statusCode, string? error)
    {
        Tenant = tenant;
        StatusCode = statusCode;
        Error = error;
    }

    /// <summary>The tenant, or <see langword="null"/> for the sinks' default tenant.</summary>
    public string? Tenant { get; }

    /// <summary>0 when accepted; otherwise the HTTP status to answer (401, 403, 400).</summary>
    public int StatusCode { get; }

    /// <summary>What to tell the client when refused.</summary>
    public string? Error { get; }

    /// <summary>Whether the request is refused.</summary>
    public bool IsRefused => StatusCode != 0;

    /// <summary>Accepts the request for <paramref name="tenant"/>.</summary>
    /// <param name="tenant">The tenant, or <see langword="null"/> for the sinks' default.</param>
    /// <returns>The result.</returns>
    public static PushTenant Accept(string? tenant) => new(tenant, 0, null);

    /// <summary>Refuses the request.</summary>
    /// <param name="statusCode">The HTTP status, e.g. 401.</param>
    /// <param name="error">What was wrong.</param>
    /// <returns>The result.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="statusCode"/> is not a 4xx status.</exception>
    public static PushTenant Refuse(int statusCode, string error)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 400);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusCode, 499);
        ArgumentException.ThrowIfNullOrEmpty(error);
        return new(null, statusCode, error);
    }

    /// <summary>
    /// The default rule: the tenant in <c>X-Scope-OrgID</c> when present (400 when it breaks
    /// <see cref="Protocol.LokiTenant"/>'s rule), else none.
    /// </summary>
    /// <param name="context">The request.</param>
    /// <returns>The result.</returns>
    public static PushTenant FromOrgIdHeader(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var header = context.Request.Headers[LokiPush.TenantHeader].ToString().Trim();
        if (header.Length == 0)
        {
            return Accept(null);
        }

        return Protocol.LokiTenant.IsValid(header, out var error) ? Accept(header) : Refuse(StatusCodes.Status400BadRequest, error);
    }
}
