using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Pipeline.Loki.Protocol;
using Pipeline.Model;
using Generated = Pipeline.Loki.Protocol.Generated;

namespace Pipeline.Loki.Tests.Protocol;

/// <summary>A push request as plain data, built from fixed random seeds, with its forms in every encoding.</summary>
internal sealed record TestStream(LabelSet Labels, List<TestEntry> Entries);

internal sealed record TestEntry(long Timestamp, byte[] Line, Label[] Metadata);

internal static class ProtocolTestData
{
    private static readonly string[] s_words = ["GET", "/api/v1/users", "200", "level=info", "msg=\"done\"", "é", "日本語", "😀", "\"quoted\"", "back\\slash", "tab\there", "new\nline", "\u0001ctl", "<html>&"];

    public static List<TestStream> Generate(int seed, bool allowNegativeTimestamps = true)
    {
        var random = new Random(seed);
        var streams = new List<TestStream>();
        var count = random.Next(1, 6);
        for (var s = 0; s < count; s++)
        {
            var labels = new List<Label> { new("stream", $"s{s}") };
            for (var l = random.Next(0, 4); l > 0; l--)
            {
                labels.Add(new Label($"l{l}_{random.Next(100)}", Words(random, random.Next(1, 3))));
            }

            var entries = new List<TestEntry>();
            for (var e = random.Next(0, 20); e > 0; e--)
            {
                var timestamp = random.Next(4) switch
                {
                    0 => 0L,
                    1 => random.NextInt64(0, 4_000_000_000_000_000_000),
                    2 when allowNegativeTimestamps => -random.NextInt64(1, 4_000_000_000_000_000_000),
                    _ => 1_732_611_600_000_000_000 + random.Next(),
                };
                var line = random.Next(6) == 0 ? [] : Encoding.UTF8.GetBytes(Words(random, random.Next(1, 30)));
                var metadata = new Label[random.Next(3) == 0 ? random.Next(1, 4) : 0];
                for (var m = 0; m < metadata.Length; m++)
                {
                    metadata[m] = new Label($"meta_{m}", random.Next(5) == 0 ? string.Empty : Words(random, 1));
                }

                entries.Add(new TestEntry(timestamp, line, metadata));
            }

            streams.Add(new TestStream(LabelSet.Create(labels.ToArray()), entries));
        }

        return streams;
    }

    public static PushRequestBuilder ToBuilder(List<TestStream> streams)
    {
        var builder = new PushRequestBuilder();
        foreach (var stream in streams)
        {
            foreach (var entry in stream.Entries)
            {
                builder.Add(stream.Labels, entry.Timestamp, entry.Line, entry.Metadata);
            }
        }

        return builder;
    }

    public static Generated.PushRequest ToGenerated(List<TestStream> streams)
    {
        var request = new Generated.PushRequest();
        foreach (var stream in streams)
        {
            if (stream.Entries.Count == 0)
            {
                continue;
            }

            var adapter = new Generated.StreamAdapter { Labels = stream.Labels.ToString() };
            foreach (var entry in stream.Entries)
            {
                var seconds = Math.DivRem(entry.Timestamp, 1_000_000_000L, out var nanos);
                if (nanos < 0)
                {
                    seconds--;
                    nanos += 1_000_000_000L;
                }

                var generated = new Generated.EntryAdapter
                {
                    Timestamp = new Timestamp { Seconds = seconds, Nanos = (int)nanos },
                    Line = Encoding.UTF8.GetString(entry.Line),
                };
                foreach (var pair in entry.Metadata)
                {
                    generated.StructuredMetadata.Add(new Generated.LabelPairAdapter { Name = pair.Name, Value = pair.Value });
                }

                adapter.Entries.Add(generated);
            }

            request.Streams.Add(adapter);
        }

        return request;
    }

    public static void AssertEqual(List<TestStream> expected, DecodedPush actual)
    {
        var nonEmpty = expected.Where(s => s.Entries.Count > 0).ToList();
        Assert.Equal(nonEmpty.Count, actual.Streams.Count);
        for (var s = 0; s < nonEmpty.Count; s++)
        {
            Assert.Equal(nonEmpty[s].Labels, actual.Streams[s].Labels);
            Assert.Equal(nonEmpty[s].Entries.Count, actual.Streams[s].Entries.Count);
            for (var e = 0; e < nonEmpty[s].Entries.Count; e++)
            {
                var want = nonEmpty[s].Entries[e];
                var got = actual.Streams[s].Entries[e];
                Assert.Equal(want.Timestamp, got.Timestamp);
                Assert.Equal(want.Line, got.Line.ToArray());
                Assert.Equal(want.Metadata, got.StructuredMetadata);
            }
        }
    }

    public static byte[] Bytes(this IMessage message) => message.ToByteArray();

    private static string Words(Random random, int count)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
            {
                builder.Append(' ');
            }

            builder.Append(s_words[random.Next(s_words.Length)]);
        }

        return builder.ToString();
    }
}
