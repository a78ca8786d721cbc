using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Parsing;

/// <summary>
/// Promtail's <c>cri</c> stage: parses container runtime (containerd, CRI-O) lines
/// <c>&lt;RFC3339Nano time&gt; &lt;stdout|stderr&gt; &lt;P|F&gt; &lt;content&gt;</c>. The time becomes the entry's
/// timestamp (nanoseconds), the stream becomes the <c>stream</c> label and the extracted <c>stream</c>, and the
/// content becomes the line (with <see cref="CriParserOptions.ExtractAllFields"/>, <c>time</c>, <c>flags</c> and
/// <c>content</c> are extracted too, as in Promtail). Partial (<c>P</c>) pieces are joined with
/// the final piece of the same stream into one entry, as Grafana Alloy does.
/// </summary>
/// <remarks>
/// A line that is not in CRI format goes on unchanged. A time that does not parse leaves the timestamp unchanged.
/// A held partial piece is absorbed (<see cref="StageResult.Absorb"/>, not counted as dropped); its acknowledgement travels
/// with the joined entry. Parsing works on the UTF-8 bytes and allocates nothing per line.
/// </remarks>
public sealed class CriParser : ILogStage
{
    /// <summary>The extracted name of the time field.</summary>
    public const string TimeField = "time";

    /// <summary>The extracted name (and label) of the stream field.</summary>
    public const string StreamField = "stream";

    /// <summary>The extracted name of the flags field.</summary>
    public const string FlagsField = "flags";

    /// <summary>The extracted name of the content field.</summary>
    public const string ContentField = "content";

    private readonly PartialJoiner _joiner;
    private readonly StreamLabelCache _labels = new();
    private Rfc3339Cache _timeCache;
    private readonly bool _extractAll;

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options; <see langword="null"/> for defaults.</param>
    /// <exception cref="StageOptionsException">An option is out of range.</exception>
    public CriParser(CriParserOptions? options = null)
    {
        options ??= new CriParserOptions();
        if (options.MaxPartialLines < 0)
        {
            throw new StageOptionsException("cri", "max_partial_lines", options.MaxPartialLines, "a number of streams, 0 (default 100) or more");
        }

        if (options.MaxPartialLineSize < 0 || options.MaxPartialLineSize > Array.MaxLength)
        {
            throw new StageOptionsException("cri", "max_partial_line_size", options.MaxPartialLineSize, $"a size in bytes from 0 (unlimited) to {Array.MaxLength}");
        }

        if (options.MaxPartialLineSizeTruncate && options.MaxPartialLineSize == 0)
        {
            throw new StageOptionsException("cri", "max_partial_line_size", 0, "a size above 0 when max_partial_line_size_truncate is true");
        }

        Options = options;
        _extractAll = options.ExtractAllFields;
        _joiner = new PartialJoiner(
            options.MaxPartialLines == 0 ? CriParserOptions.DefaultMaxPartialLines : options.MaxPartialLines,
            options.MaxPartialLineSize,
            options.MaxPartialLineSizeTruncate);
    }

    /// <summary>The options the stage was built with.</summary>
    public CriParserOptions Options { get; }

    /// <summary>The number of streams with partial pieces waiting for their final piece.</summary>
    public int PendingPartialStreams => _joiner.PendingStreams;

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var line = entry.Line;

        var timeEnd = line.IndexOfAny((byte)' ', (byte)'\t');
        if (timeEnd <= 0 || line[timeEnd] != ' ')
        {
            return StageResult.Keep;
        }

        var rest = line[(timeEnd + 1)..];
        bool stderr;
        if (rest.StartsWith("stdout "u8))
        {
            stderr = false;
        }
        else if (rest.StartsWith("stderr "u8))
        {
            stderr = true;
        }
        else
        {
            return StageResult.Keep;
        }

        rest = rest[7..];
        var flagsEnd = rest.IndexOf((byte)' ');
        int contentStart;
        if (flagsEnd < 0)
        {
            // "... stdout F" with nothing after: an empty line.
            flagsEnd = rest.Length;
            contentStart = rest.Length;
        }
        else
        {
            contentStart = flagsEnd + 1;
        }

        var flags = rest[..flagsEnd];
        if (flags.IsEmpty || flags.IndexOfAny((byte)'\t', (byte)'\n', (byte)'\r') >= 0)
        {
            return StageResult.Keep;
        }

        var time = line[..timeEnd];
        if (Utf8Time.TryParseRfc3339(time, ref _timeCache, out var timestamp))
        {
            entry.Timestamp = timestamp;
        }

        var extracted = entry.Extracted;
        extracted.Set(StreamField, stderr ? "stderr"u8 : "stdout"u8);
        var contentOffset = timeEnd + 1 + 7 + contentStart;
        if (_extractAll)
        {
            extracted.Set(TimeField, time);
            extracted.Set(FlagsField, flags);
            extracted.Set(ContentField, line[contentOffset..]);
        }

        // Tags are ':'-separated; the first says partial (P) or full (F).
        var partial = flags[0] == 'P' && (flags.Length == 1 || flags[1] == ':');
        var stream = _labels.With(entry.Labels, stderr);
        entry.Labels = stream;
        entry.SetLine(line[contentOffset..]);

        if (partial)
        {
            return _joiner.AddPartial(entry, stream);
        }

        _joiner.AddFinal(entry, stream);
        return StageResult.Keep;
    }
}
