using System.Text;
using Pipeline.LogQL.Extraction;

namespace Pipeline.Tests.LogQL.Extraction;

/// <summary>Records what an extractor sets, as "name=value" (outputs named by <c>names</c>, keys as found).</summary>
internal readonly struct RecordingTarget(string[] names) : IExtractionTarget
{
    public List<string> Values { get; } = [];

    public override string ToString() => string.Join(";", Values);

    public void Set(int output, ReadOnlySpan<byte> value) => Values.Add(names[output] + "=" + Encoding.UTF8.GetString(value));

    public void Set(int output, ReadOnlySpan<char> value) => Values.Add(names[output] + "=" + new string(value));

    public void SetKey(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Values.Add(Encoding.UTF8.GetString(key) + "=" + Encoding.UTF8.GetString(value));
}
