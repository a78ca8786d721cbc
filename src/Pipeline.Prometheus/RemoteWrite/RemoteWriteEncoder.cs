using System.Buffers;
using Google.Protobuf;
using Pipeline.Prometheus.RemoteWrite.Protocol;
using Snappier;

namespace Pipeline.Prometheus.RemoteWrite;

/// <summary>
/// Builds a remote-write 1.0 <see cref="WriteRequest"/>: samples of one series (same name and labels) go into one
/// <see cref="TimeSeries"/> in the order given, labels sorted by name with <c>__name__</c>; then protobuf and snappy block.
/// </summary>
internal static class RemoteWriteEncoder
{
    public const string NameLabel = "__name__";

    public static WriteRequest Build(IReadOnlyList<RemoteWriteSample> samples)
    {
        var request = new WriteRequest();
        var bySeries = new Dictionary<SeriesKey, TimeSeries>(samples.Count);
        for (var i = 0; i < samples.Count; i++)
        {
            var sample = samples[i];
            var key = new SeriesKey(sample.Name, sample.Labels);
            if (!bySeries.TryGetValue(key, out var series))
            {
                series = new TimeSeries();
                series.Labels.AddRange(SortedLabels(sample));
                bySeries[key] = series;
                request.Timeseries.Add(series);
            }

            series.Samples.Add(new Sample { Value = sample.Value, Timestamp = sample.TimestampUnixMs });
        }

        return request;
    }

    /// <summary>Serializes and snappy-compresses into a pooled buffer; return it with <see cref="ArrayPool{T}.Return"/>.</summary>
    public static (byte[] Buffer, int Length) Encode(WriteRequest request)
    {
        var size = request.CalculateSize();
        var raw = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
        try
        {
            request.WriteTo(raw.AsSpan(0, size));
            var compressed = ArrayPool<byte>.Shared.Rent(Snappy.GetMaxCompressedLength(size));
            var length = Snappy.Compress(raw.AsSpan(0, size), compressed);
            return (compressed, length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    /// <summary>Decodes a snappy block-compressed <see cref="WriteRequest"/> (receivers, tests).</summary>
    public static WriteRequest Decode(ReadOnlySpan<byte> body) => WriteRequest.Parser.ParseFrom(Snappy.DecompressToArray(body));

    private static Label[] SortedLabels(RemoteWriteSample sample)
    {
        var labels = new List<Label>(sample.Labels.Count + 1) { new() { Name = NameLabel, Value = sample.Name } };
        foreach (var label in sample.Labels)
        {
            if (label.Key != NameLabel)
            {
                labels.Add(new Label { Name = label.Key, Value = label.Value ?? string.Empty });
            }
        }

        labels.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return [.. labels];
    }

    /// <summary>Identity of a series: name plus labels compared as a set.</summary>
    private readonly struct SeriesKey : IEquatable<SeriesKey>
    {
        private readonly string _name;
        private readonly IReadOnlyList<KeyValuePair<string, string>> _labels;
        private readonly int _hash;

        public SeriesKey(string name, IReadOnlyList<KeyValuePair<string, string>> labels)
        {
            _name = name;
            _labels = labels;

            // Order-independent: XOR of per-label hashes.
            var hash = name.GetHashCode(StringComparison.Ordinal);
            for (var i = 0; i < labels.Count; i++)
            {
                hash ^= HashCode.Combine(labels[i].Key, labels[i].Value);
            }

            _hash = hash;
        }

        public bool Equals(SeriesKey other)
        {
            if (_hash != other._hash || _name != other._name || _labels.Count != other._labels.Count)
            {
                return false;
            }

            if (ReferenceEquals(_labels, other._labels))
            {
                return true;
            }

            for (var i = 0; i < _labels.Count; i++)
            {
                var found = false;
                for (var j = 0; j < other._labels.Count; j++)
                {
                    if (_labels[i].Key == other._labels[j].Key)
                    {
                        found = _labels[i].Value == other._labels[j].Value;
                        break;
                    }
                }

                if (!found)
                {
                    return false;
                }
            }

            return true;
        }

        public override bool Equals(object? obj) => obj is SeriesKey other && Equals(other);

        public override int GetHashCode() => _hash;
    }
}
