using Pipeline.Loki.Push;

namespace Pipeline.Hosting.Config;

/// <summary>Builds the Loki push sink of a <c>clients</c> entry.</summary>
public static class ClientSinks
{
    /// <summary>The options of the push sink for <paramref name="client"/>.</summary>
    /// <param name="client">The client configuration.</param>
    /// <returns>The sink options.</returns>
    /// <exception cref="ConfigException">A file the configuration names (password or token) cannot be read.</exception>
    public static LokiPushSinkOptions ToOptions(ClientConfig client)
    {
        ArgumentNullException.ThrowIfNull(client);
        var options = new LokiPushSinkOptions
        {
            Url = client.Url,
            TenantId = client.TenantId,
            BatchWait = client.BatchWait,
            BatchSize = (int)Math.Min(client.BatchSize, int.MaxValue),
            Timeout = client.Timeout,
            MinBackoff = client.Backoff.MinPeriod,
            MaxBackoff = client.Backoff.MaxPeriod,
            MaxRetries = client.Backoff.MaxRetries is null or 0 ? null : client.Backoff.MaxRetries,
            BasicAuthUsername = client.BasicAuthUsername,
            BasicAuthPassword = client.BasicAuthPassword ?? ReadSecret(client.BasicAuthPasswordFile, "basic_auth.password_file"),
            BearerToken = client.BearerToken,
            BearerTokenFile = client.BearerTokenFile,
            ProxyUrl = client.ProxyUrl,
        };
        if (options.MaxRequestSize < options.BatchSize)
        {
            // A batch is sent whole: the request limit follows a larger configured batch size.
            options.MaxRequestSize = options.BatchSize + (options.BatchSize / 4);
        }

        foreach (var (name, value) in client.ExternalLabels)
        {
            options.ExternalLabels[name] = value;
        }

        foreach (var (name, value) in client.Headers)
        {
            options.Headers[name] = value;
        }

        options.Tls.CaFile = client.Tls.CaFile;
        options.Tls.CertFile = client.Tls.CertFile;
        options.Tls.KeyFile = client.Tls.KeyFile;
        options.Tls.ServerName = client.Tls.ServerName;
        options.Tls.InsecureSkipVerify = client.Tls.InsecureSkipVerify;
        return options;
    }

    /// <summary>Builds the push sink for <paramref name="client"/>.</summary>
    /// <param name="client">The client configuration.</param>
    /// <returns>The sink.</returns>
    /// <exception cref="ConfigException">A setting the sink refuses, with the client's URL in the message.</exception>
    public static LokiPushSink Create(ClientConfig client)
    {
        ArgumentNullException.ThrowIfNull(client);
        try
        {
            return new LokiPushSink(ToOptions(client));
        }
        catch (ArgumentException ex)
        {
            throw new ConfigException($"clients ({client.Url}): {ex.Message}", ex);
        }
    }

    private static string? ReadSecret(string? path, string key)
    {
        if (path is null)
        {
            return null;
        }

        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"clients: {key} '{path}' cannot be read: {ex.Message}", ex);
        }
    }
}
