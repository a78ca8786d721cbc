using Pipeline.Loki.Protocol;
using Pipeline.Loki.Receiver;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Pipeline.Aggregator.Http;

/// <summary>Finds the tenant of a request: credentials (when configured), <c>X-Scope-OrgID</c>, or <c>fake</c> in single-tenant mode.</summary>
internal sealed class TenantResolver
{
    internal const string OrgIdHeader = "X-Scope-OrgID";

    private readonly bool _multiTenant;
    private readonly Dictionary<string, string> _tokens;
    private readonly Dictionary<string, BasicAuthUser> _users;

    public TenantResolver(AggregatorServerOptions options)
    {
        _multiTenant = options.MultiTenant;
        _tokens = new Dictionary<string, string>(options.BearerTokens, StringComparer.Ordinal);
        _users = new Dictionary<string, BasicAuthUser>(options.BasicAuthUsers, StringComparer.Ordinal);
    }

    private bool AuthRequired => _tokens.Count > 0 || _users.Count > 0;

    /// <summary>The tenant of a push, for the push receiver.</summary>
    public PushTenant Resolve(HttpContext context) =>
        TryResolve(context, out var tenant, out var status, out var error) ? PushTenant.Accept(tenant) : PushTenant.Refuse(status, error);

    /// <summary>
    /// Resolves the tenant of a query: as <see cref="TryResolve"/>, and in multi-tenant mode without credentials also
    /// Loki's <c>a|b</c>, which queries several tenants at once (each valid on its own).
    /// </summary>
    public bool TryResolveForQuery(HttpContext context, out string tenant, out int status, out string error)
    {
        var header = context.Request.Headers[OrgIdHeader].ToString().Trim();
        if (!_multiTenant || AuthRequired || !header.Contains('|', StringComparison.Ordinal))
        {
            return TryResolve(context, out tenant, out status, out error);
        }

        var tenants = header.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        foreach (var one in tenants)
        {
            if (!LokiTenant.IsValid(one, out var invalid))
            {
                tenant = string.Empty;
                status = StatusCodes.Status400BadRequest;
                error = invalid;
                return false;
            }
        }

        tenant = string.Join('|', tenants.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
        status = 0;
        error = string.Empty;
        return true;
    }

    /// <summary>Resolves the tenant, or gives the status code (401/403/400) and message to answer with.</summary>
    public bool TryResolve(HttpContext context, out string tenant, out int status, out string error)
    {
        tenant = string.Empty;
        var header = context.Request.Headers[OrgIdHeader].ToString().Trim();
        var authorization = context.Request.Headers.Authorization.ToString();

        // Browsers cannot set headers on a websocket: a tail request may carry them as query parameters instead.
        if (context.WebSockets.IsWebSocketRequest)
        {
            if (header.Length == 0)
            {
                header = context.Request.Query[OrgIdHeader].ToString().Trim();
            }

            if (authorization.Length == 0 && context.Request.Query["token"].ToString() is { Length: > 0 } token)
            {
                authorization = "Bearer " + token;
            }
        }

        string? credentialTenant = null;
        if (AuthRequired)
        {
            credentialTenant = Authenticate(authorization);
            if (credentialTenant is null)
            {
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"loki\", Bearer";
                status = StatusCodes.Status401Unauthorized;
                error = "unauthorized: missing or invalid credentials";
                return false;
            }

            if (header.Length > 0 && !string.Equals(header, credentialTenant, StringComparison.Ordinal))
            {
                status = StatusCodes.Status403Forbidden;
                error = $"forbidden: the credentials are not allowed to access tenant '{header}'";
                return false;
            }

            tenant = credentialTenant;
        }
        else if (_multiTenant)
        {
            if (header.Length == 0)
            {
                status = StatusCodes.Status401Unauthorized;
                error = "no org id";
                return false;
            }

            tenant = header;
        }
        else
        {
            tenant = AggregatorServerOptions.SingleTenantId;
        }

        if (!LokiTenant.IsValid(tenant, out var invalid))
        {
            status = StatusCodes.Status400BadRequest;
            error = invalid;
            return false;
        }

        status = 0;
        error = string.Empty;
        return true;
    }

    private string? Authenticate(string authorization)
    {
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = authorization.AsSpan(7).Trim().ToString();
            foreach (var (known, tenant) in _tokens)
            {
                if (FixedTimeEquals(known, token))
                {
                    return tenant;
                }
            }

            return null;
        }

        if (authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            string decoded;
            try
            {
                decoded = Encoding.UTF8.GetString(Convert.FromBase64String(authorization[6..].Trim()));
            }
            catch (FormatException)
            {
                return null;
            }

            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || !_users.TryGetValue(decoded[..colon], out var user))
            {
                return null;
            }

            return FixedTimeEquals(user.Password, decoded[(colon + 1)..]) ? user.Tenant : null;
        }

        return null;
    }

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));
}
