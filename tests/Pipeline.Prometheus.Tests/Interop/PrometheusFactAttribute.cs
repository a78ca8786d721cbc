namespace Pipeline.Prometheus.Tests.Interop;

/// <summary>A fact that is skipped, with a message saying why, when the <c>prometheus</c> binary is not on PATH.</summary>
public sealed class PrometheusFactAttribute : FactAttribute
{
    public PrometheusFactAttribute()
    {
        if (FindPrometheus() is null)
        {
            Skip = "prometheus is not on PATH: install it (apt-get install -y prometheus; .ci/run does) to run the real-Prometheus interop test";
        }
    }

    public static string? FindPrometheus()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, "prometheus");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
