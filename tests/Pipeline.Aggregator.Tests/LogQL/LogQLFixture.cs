using System.Globalization;
using System.Text;
using Pipeline.Aggregator.LogQL;
using Pipeline.Model;

namespace Pipeline.Aggregator.Tests.LogQL;

/// <summary>A small in-memory store with three streams of tenant "t" and one of tenant "other", and result formatters.</summary>
internal static class LogQLFixture
{
    public const string Tenant = "t";
    public const long T0 = 1_700_000_000L * 1_000_000_000L;
    public const long Second = 1_000_000_000L;

    public static readonly LabelSet P1 = LabelSet.Parse("{app=\"x\", namespace=\"a\", pod=\"p1\"}");
    public static readonly LabelSet P2 = LabelSet.Parse("{app=\"x\", namespace=\"a\", pod=\"p2\"}");
    public static readonly LabelSet P3 = LabelSet.Parse("{app=\"y\", namespace=\"b\", pod=\"p3\"}");

    public static readonly string[] P1Lines =
    [
        "level=info msg=\"hello world\" status=200 latency=10ms size=1KB",
        "level=error msg=\"failed\" status=500 latency=250ms size=2KB",
        "level=info msg=\"ok\" status=200 latency=20ms size=512B",
        "level=warn msg=\"slow\" status=404 latency=1s size=3KB",
        "level=error msg=\"again\" status=503 latency=100ms size=1.5KB",
        "level=info msg=\"bye\" status=201 latency=5ms size=100B",
    ];

    public static readonly string[] P2Lines =
    [
        "{\"level\":\"error\",\"msg\":\"boom\",\"user\":{\"id\":7,\"name\":\"ann\"},\"tags\":[\"a\"]}",
        "not json at all",
        "{\"level\":\"info\",\"msg\":\"fine\",\"user\":{\"id\":8,\"name\":\"bob\"}}",
        "{\"level\":\"debug\",\"_entry\":\"inner line\",\"trace\":\"abc\"}",
    ];

    public static readonly string[] P3Lines =
    [
        "GET /index.html 200 12ms",
        "POST /api 500 300ms",
        "\u001b[31mred error\u001b[0m",
    ];

    public static InMemoryLogStore CreateStore()
    {
        var store = new InMemoryLogStore();
        for (var i = 0; i < P1Lines.Length; i++)
        {
            store.Append(Tenant, P1, T0 + (i + 1) * 10 * Second, P1Lines[i]);
        }

        for (var i = 0; i < P2Lines.Length; i++)
        {
            store.Append(Tenant, P2, T0 + (5 + i * 10) * Second, P2Lines[i]);
        }

        store.Append(Tenant, P3, T0 + 20 * Second, P3Lines[0]);
        store.Append(Tenant, P3, T0 + 40 * Second, P3Lines[1]);
        store.Append(Tenant, P3, T0 + 50 * Second, P3Lines[2], LabelSet.Parse("{trace_id=\"t-1\"}"));
        store.Append("other", P1, T0 + 10 * Second, "secret");
        return store;
    }

    public static LogQLEngine Engine(LogQLEngineOptions? options = null) => new(CreateStore(), options);

    /// <summary>Entries of a log query in result order across streams: "seconds labels line".</summary>
    public static List<string> Logs(string query, Direction direction = Direction.Backward, int limit = 100, long startSec = 0, long endSec = 100, LogQLEngine? engine = null)
    {
        var result = (StreamsResult)(engine ?? Engine()).QueryRange(Tenant, query, T0 + startSec * Second, T0 + endSec * Second, Second, limit, direction);
        var all = new List<(long Ts, string Text)>();
        foreach (var stream in result.Streams)
        {
            foreach (var entry in stream.Entries)
            {
                all.Add((entry.TimestampNs, $"{Seconds(entry.TimestampNs)} {stream.Labels} {entry.Line}"));
            }
        }

        all.Sort((a, b) => direction == Direction.Forward ? a.Ts.CompareTo(b.Ts) : b.Ts.CompareTo(a.Ts));
        return all.ConvertAll(e => e.Text);
    }

    /// <summary>A matrix as lines "labels t=v t=v" with t in seconds after T0.</summary>
    public static string Matrix(string query, long startSec, long endSec, long stepSec, LogQLEngine? engine = null)
    {
        var result = (MatrixResult)(engine ?? Engine()).QueryRange(Tenant, query, T0 + startSec * Second, T0 + endSec * Second, stepSec * Second, 100, Direction.Backward);
        var builder = new StringBuilder();
        foreach (var series in result.Series)
        {
            if (builder.Length > 0)
            {
                builder.Append('\n');
            }

            builder.Append(series.Metric);
            foreach (var point in series.Points)
            {
                builder.Append(' ').Append(Seconds(point.TimestampNs)).Append('=').Append(Format(point.Value));
            }
        }

        return builder.ToString();
    }

    /// <summary>An instant vector as "labels=v; labels=v".</summary>
    public static string Vector(string query, long atSec, LogQLEngine? engine = null)
    {
        var result = (engine ?? Engine()).QueryInstant(Tenant, query, T0 + atSec * Second);
        if (result is ScalarResult scalar)
        {
            return "scalar " + Format(scalar.Value);
        }

        return string.Join("; ", ((VectorResult)result).Samples.Select(s => $"{s.Metric}={Format(s.Value)}"));
    }

    public static string Format(double value) => Math.Round(value, 6).ToString(CultureInfo.InvariantCulture);

    private static long Seconds(long ns) => (ns - T0) / Second;
}
