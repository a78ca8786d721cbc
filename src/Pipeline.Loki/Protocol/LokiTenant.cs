using System.Diagnostics.CodeAnalysis;

namespace Pipeline.Loki.Protocol;

/// <summary>
/// Loki's tenant ID rule (dskit's <c>ValidTenantID</c>), the one rule for the <c>X-Scope-OrgID</c> a client sends and a
/// receiver accepts: 1 to 150 characters of <c>[a-zA-Z0-9!-_.*'()]</c>, and neither <c>.</c> nor <c>..</c>. A valid tenant
/// ID is therefore always a single, safe folder name.
/// </summary>
public static class LokiTenant
{
    /// <summary>The maximum length of a tenant ID.</summary>
    public const int MaxLength = 150;

    /// <summary>Checks a tenant ID.</summary>
    /// <param name="tenant">The tenant ID.</param>
    /// <param name="error">What is wrong, when not valid.</param>
    /// <returns>Whether the tenant ID is valid.</returns>
    public static bool IsValid([NotNullWhen(true)] string? tenant, [NotNullWhen(false)] out string? error)
    {
        if (string.IsNullOrEmpty(tenant))
        {
            error = "no org id";
            return false;
        }

        if (tenant.Length > MaxLength)
        {
            error = $"tenant ID is too long: max {MaxLength} characters";
            return false;
        }

        if (tenant is "." or "..")
        {
            error = "tenant ID is '.' or '..'";
            return false;
        }

        foreach (var c in tenant)
        {
            if (!IsSupported(c))
            {
                error = $"tenant ID '{tenant}' contains unsupported character '{c}'";
                return false;
            }
        }

        error = null;
        return true;
    }

    /// <summary>Throws when a tenant ID is not valid.</summary>
    /// <param name="tenant">The tenant ID.</param>
    /// <param name="paramName">The argument or option being checked, for the exception.</param>
    /// <exception cref="ArgumentException">The tenant ID is empty, too long, <c>.</c>/<c>..</c>, or has an unsupported character.</exception>
    public static void Validate(string? tenant, string? paramName = "tenant")
    {
        if (!IsValid(tenant, out var error))
        {
            throw new ArgumentException(error, paramName);
        }
    }

    private static bool IsSupported(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '!' or '-' or '_' or '.' or '*' or '\'' or '(' or ')';
}
