using Pipeline.Model;

namespace Pipeline.Stages.Internal;

/// <summary>
/// Adds a <c>stream</c> label (<c>stdout</c>/<c>stderr</c>) to an entry's labels, reusing the result while the input
/// set stays the same, so parsers allocate no label set per line.
/// </summary>
internal sealed class StreamLabelCache
{
    public const string LabelName = "stream";

    private LabelSet? _input;
    private LabelSet? _stdout;
    private LabelSet? _stderr;
    private LabelSet? _otherInput;
    private string? _otherValue;
    private LabelSet? _other;

    public LabelSet With(LabelSet input, bool stderr)
    {
        if (!ReferenceEquals(input, _input))
        {
            _input = input;
            _stdout = null;
            _stderr = null;
        }

        return stderr
            ? _stderr ??= input.ToBuilder().Set(LabelName, "stderr").Build()
            : _stdout ??= input.ToBuilder().Set(LabelName, "stdout").Build();
    }

    /// <summary>For stream names other than stdout/stderr (docker allows any); cached for the last one only.</summary>
    public LabelSet With(LabelSet input, ReadOnlySpan<byte> utf8Value)
    {
        if (utf8Value.SequenceEqual("stdout"u8))
        {
            return With(input, stderr: false);
        }

        if (utf8Value.SequenceEqual("stderr"u8))
        {
            return With(input, stderr: true);
        }

        if (utf8Value.IsEmpty)
        {
            return input;
        }

        if (!ReferenceEquals(input, _otherInput) || _otherValue is null || !Utf8Text.EqualsString(utf8Value, _otherValue))
        {
            var value = Utf8Text.GetString(utf8Value);
            _otherInput = input;
            _otherValue = value;
            _other = input.ToBuilder().Set(LabelName, value).Build();
        }

        return _other!;
    }
}
