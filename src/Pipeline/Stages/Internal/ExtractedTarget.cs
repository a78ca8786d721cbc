using System.Text;
using Pipeline.LogQL.Extraction;
using Pipeline.Model;

namespace Pipeline.Stages.Internal;

/// <summary>Promtail's semantics for the shared extractors: output <c>i</c> goes into the extracted map as <c>names[i]</c>.</summary>
internal readonly struct ExtractedTarget(LogFields fields, string[] names) : IExtractionTarget
{
    public void Set(int output, ReadOnlySpan<byte> value) => fields.Set(names[output], value);

    public void Set(int output, ReadOnlySpan<char> value) => fields.Set(names[output], value);

    public void SetKey(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => fields.Set(Encoding.UTF8.GetString(key), value);
}
