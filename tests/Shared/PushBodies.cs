using System.Text;
using Pipeline.Loki.Protocol;
using Pipeline.Model;

namespace Pipeline.TestSupport;

/// <summary>Loki push bodies for tests (linked into the test projects that push).</summary>
internal static class PushBodies
{
    /// <summary>A snappy-compressed protobuf PushRequest of the given entries.</summary>
    public static byte[] Protobuf(params (string Labels, long Timestamp, string Line)[] entries)
    {
        using var builder = new PushRequestBuilder();
        foreach (var (labels, timestamp, line) in entries)
        {
            builder.Add(LabelSet.Parse(labels), timestamp, Encoding.UTF8.GetBytes(line), ReadOnlySpan<Label>.Empty);
        }

        using var output = new PooledBufferWriter();
        PushBodyEncoder.WriteSnappyProtobuf(builder, output);
        return output.WrittenSpan.ToArray();
    }
}
