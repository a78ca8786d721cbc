using System.Buffers;
using System.Text.Json;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Parsing;

/// <summary>
/// Promtail's <c>docker</c> stage: parses Docker json-file lines <c>{"log":"text\n","stream":"stdout","time":"..."}</c>.
/// <c>log</c> becomes the line (without its trailing newline), <c>stream</c> the <c>stream</c> label, <c>time</c>
/// (RFC3339Nano) the timestamp; <c>output</c>, <c>stream</c> and <c>timestamp</c> are extracted as Promtail does. Docker
/// splits long lines into 16 KiB pieces whose <c>log</c> does not end in a newline: those are joined per stream.
/// </summary>
/// <remarks>
/// A line that is not a JSON object with a string <c>log</c> goes on unchanged. A held piece is absorbed
/// (<see cref="StageResult.Absorb"/>, not counted as dropped); its acknowledgement travels with the joined entry.
/// </remarks>
public sealed class DockerParser : ILogStage
{
    /// <summary>The extracted name of the <c>log</c> field.</summary>
    public const string OutputField = "output";

    /// <summary>The extracted name (and label) of the stream.</summary>
    public const string StreamField = "stream";

    /// <summary>The extracted name of the <c>time</c> field.</summary>
    public const string TimestampField = "timestamp";

    private readonly PartialJoiner _joiner;
    private readonly StreamLabelCache _labels = new();
    private Rfc3339Cache _timeCache;
    private byte[] _scratch = new byte[1024];

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options; <see langword="null"/> for defaults.</param>
    /// <exception cref="StageOptionsException">An option is out of range.</exception>
    public DockerParser(DockerParserOptions? options = null)
    {
        options ??= new DockerParserOptions();
        if (options.MaxPartialLines < 0)
        {
            throw new StageOptionsException("docker", "max_partial_lines", options.MaxPartialLines, "a number of streams, 0 (default 100) or more");
        }

        if (options.MaxPartialLineSize < 0 || options.MaxPartialLineSize > Array.MaxLength)
        {
            throw new StageOptionsException("docker", "max_partial_line_size", options.MaxPartialLineSize, $"a size in bytes from 0 (unlimited) to {Array.MaxLength}");
        }

        if (options.MaxPartialLineSizeTruncate && options.MaxPartialLineSize == 0)
        {
            throw new StageOptionsException("docker", "max_partial_line_size", 0, "a size above 0 when max_partial_line_size_truncate is true");
        }

        Options = options;
        _joiner = new PartialJoiner(
            options.MaxPartialLines == 0 ? CriParserOptions.DefaultMaxPartialLines : options.MaxPartialLines,
            options.MaxPartialLineSize,
            options.MaxPartialLineSizeTruncate);
    }

    /// <summary>The options the stage was built with.</summary>
    public DockerParserOptions Options { get; }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var line = entry.Line;
        if (line.IsEmpty || line[0] != '{')
        {
            return StageResult.Keep;
        }

        // The unescaped log goes into _scratch[0..logLength]; stream and time are short and unescaped in practice,
        // but are unescaped into the scratch tail when needed.
        int logLength = -1, streamStart = 0, streamLength = -1, timeStart = 0, timeLength = -1;
        try
        {
            if (_scratch.Length < line.Length * 2)
            {
                _scratch = new byte[Math.Max(line.Length * 2, _scratch.Length * 2)];
            }

            var reader = new Utf8JsonReader(line, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return StageResult.Keep;
            }

            var tail = line.Length; // Short fields are unescaped after the log, at [line.Length..].
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var field = reader.ValueTextEquals("log"u8) ? 0 : reader.ValueTextEquals("stream"u8) ? 1 : reader.ValueTextEquals("time"u8) ? 2 : -1;
                reader.Read();
                if (field < 0 || reader.TokenType != JsonTokenType.String)
                {
                    reader.Skip();
                    continue;
                }

                switch (field)
                {
                    case 0:
                        logLength = reader.CopyString(_scratch);
                        break;
                    case 1:
                        streamStart = tail;
                        streamLength = reader.CopyString(_scratch.AsSpan(tail));
                        tail += streamLength;
                        break;
                    default:
                        timeStart = tail;
                        timeLength = reader.CopyString(_scratch.AsSpan(tail));
                        tail += timeLength;
                        break;
                }
            }
        }
        catch (JsonException)
        {
            return StageResult.Keep;
        }
        catch (InvalidOperationException)
        {
            return StageResult.Keep;
        }

        if (logLength < 0)
        {
            return StageResult.Keep;
        }

        var log = _scratch.AsSpan(0, logLength);
        var final = log.IsEmpty || log[^1] == (byte)'\n';
        var extracted = entry.Extracted;
        extracted.Set(OutputField, log);
        var stream = entry.Labels;
        if (streamLength >= 0)
        {
            var streamValue = _scratch.AsSpan(streamStart, streamLength);
            extracted.Set(StreamField, streamValue);
            stream = _labels.With(entry.Labels, streamValue);
            entry.Labels = stream;
        }

        if (timeLength >= 0)
        {
            var time = _scratch.AsSpan(timeStart, timeLength);
            extracted.Set(TimestampField, time);
            if (Utf8Time.TryParseRfc3339(time, ref _timeCache, out var timestamp))
            {
                entry.Timestamp = timestamp;
            }
        }

        entry.SetLine(final ? log[..^1] : log);
        if (!final)
        {
            return _joiner.AddPartial(entry, stream);
        }

        _joiner.AddFinal(entry, stream);
        return StageResult.Keep;
    }
}
