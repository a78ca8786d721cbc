using System.Buffers;
using System.Text;
using System.Text.Json;
using Pipeline.LogQL.Extraction;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Aggregator.Distributor;

/// <summary>
/// What Loki 3 adds at ingest by default: a stream without <c>service_name</c> gets one (the first label of
/// <c>discover_service_name</c> it has, else <c>unknown_service</c>), and each entry without <c>detected_level</c> gets
/// one in its structured metadata (<c>discover_log_levels</c>): from a level label of its stream, a level field of its
/// metadata, OTLP's <c>severity_number</c>, or its line (a JSON field up to two objects deep, a logfmt field, else the
/// first level word), normalised to Loki's level names. It runs after the limits, which see the labels as pushed.
/// </summary>
/// <remarks>
/// A stream's labels and its level label are worked out once per stream (runs of a push share them, and a bounded cache
/// keeps them across pushes); per entry only the line is read, without allocating. The level word search reads at most
/// <see cref="MaxLevelScanBytes"/> bytes of a line.
/// </remarks>
internal sealed class DiscoveryStage(DistributorLimitsByTenant limits, TimeProvider time, DiscardCounters discards)
    : DistributorStage(limits, time, discards)
{
    /// <summary>The structured metadata name of the detected level (Loki's <c>constants.LevelLabel</c>).</summary>
    public const string LevelName = "detected_level";

    /// <summary>The label Loki gives a stream's service.</summary>
    public const string ServiceNameLabel = "service_name";

    /// <summary>The service of a stream none of whose labels names one.</summary>
    public const string UnknownService = "unknown_service";

    /// <summary>How much of a line the level word search reads (Loki reads the whole line).</summary>
    public const int MaxLevelScanBytes = 4096;

    /// <summary>How deep in a JSON line a level field is looked for (Loki's <c>log_level_from_json_max_depth</c> default).</summary>
    private const int JsonLevelMaxDepth = 2;

    private const int MaxCachedStreams = 16 * 1024;

    /// <summary>Loki's default <c>log_level_fields</c>, in its order.</summary>
    private static readonly string[] s_levelFields =
    [
        "level", "LEVEL", "Level", "log.level", "severity", "SEVERITY", "Severity", "SeverityText", "lvl", "LVL", "Lvl",
        "severity_text", "Severity_Text", "SEVERITY_TEXT",
    ];

    /// <summary>Loki's default <c>log_level_fields</c>: the label, metadata and line fields a level is read from, in order.</summary>
    public static IReadOnlyList<string> LevelFields => s_levelFields;

    private static readonly byte[][] s_levelFieldBytes = [.. s_levelFields.Select(Encoding.UTF8.GetBytes)];

    private static readonly byte[] s_trace = "trace"u8.ToArray();
    private static readonly byte[] s_debug = "debug"u8.ToArray();
    private static readonly byte[] s_info = "info"u8.ToArray();
    private static readonly byte[] s_warn = "warn"u8.ToArray();
    private static readonly byte[] s_error = "error"u8.ToArray();
    private static readonly byte[] s_critical = "critical"u8.ToArray();
    private static readonly byte[] s_fatal = "fatal"u8.ToArray();
    private static readonly byte[] s_unknown = "unknown"u8.ToArray();

    private static readonly SearchValues<byte> s_levelInitials = SearchValues.Create("tdfcewiTDFCEWI"u8);

    private readonly Dictionary<(DistributorLimits, LabelSet), StreamFacts> _streams = [];
    private readonly LogfmtExtractor _logfmt = new(keys: null, LogfmtErrors.Stop, keepEmpty: true);
    private DistributorLimits? _lastLimits;
    private LabelSet? _lastLabels;
    private StreamFacts? _lastStream;

    public override StageResult Process(LogEntry entry)
    {
        var limits = LimitsFor(entry.Tenant);
        if (!ReferenceEquals(limits, _lastLimits) || !ReferenceEquals(entry.Labels, _lastLabels) || _lastStream is null)
        {
            _lastLimits = limits;
            _lastLabels = entry.Labels;
            _lastStream = StreamFor(limits, entry.Labels);
        }

        entry.Labels = _lastStream.Labels;
        if (limits.DiscoverLogLevels)
        {
            var level = DetectLevel(entry.Metadata, _lastStream.LabelLevel, entry.Line);
            if (level is not null)
            {
                entry.Metadata.Set(LevelName, level);
            }
        }

        return StageResult.Keep;
    }

    /// <summary>
    /// The level an entry gets, or <see langword="null"/> when there is nothing more to set (it has one already, normalised
    /// in place; its metadata level field is not a level name and was copied as it is; or that field is empty).
    /// </summary>
    internal byte[]? DetectLevel(LogFields metadata, byte[]? labelLevel, ReadOnlySpan<byte> line)
    {
        if (metadata.Count > 0 && metadata.TryGetValue(LevelName, out var existing))
        {
            if (Known(existing) is { } normalised && !existing.SequenceEqual(normalised))
            {
                metadata.Set(LevelName, normalised);
            }

            return null;
        }

        if (labelLevel is not null)
        {
            return labelLevel;
        }

        if (metadata.Count > 0)
        {
            foreach (var field in s_levelFields)
            {
                if (metadata.TryGetValue(field, out var value))
                {
                    if (Known(value) is { } known)
                    {
                        return known;
                    }

                    // Not a level name: kept as it is, as Loki does (an empty value gives no level).
                    if (!value.IsEmpty)
                    {
                        metadata.Set(LevelName, value);
                    }

                    return null;
                }
            }

            if (metadata.TryGetValue("severity_number", out var severity))
            {
                return FromSeverityNumber(severity);
            }
        }

        return FromLine(line);
    }

    /// <summary>The level of a line: a JSON or logfmt level field whose value is a level name, else the first level word.</summary>
    internal byte[] FromLine(ReadOnlySpan<byte> line)
    {
        byte[]? level;
        if (IsJson(line))
        {
            level = Known(JsonLevel(line));
        }
        else if (line.Contains((byte)'='))
        {
            var target = new LogfmtLevel();
            _logfmt.Extract(line, ref target, out _);
            level = target.Level;
        }
        else
        {
            return WordLevel(line);
        }

        return level ?? WordLevel(line);
    }

    /// <summary>The first level word of the line (Loki's <c>detectLevelFromLogLine</c>), or <c>unknown</c>.</summary>
    internal static byte[] WordLevel(ReadOnlySpan<byte> line)
    {
        var s = line.Length > MaxLevelScanBytes ? line[..MaxLevelScanBytes] : line;
        var i = 0;
        while (i < s.Length)
        {
            var next = s[i..].IndexOfAny(s_levelInitials);
            if (next < 0)
            {
                break;
            }

            i += next;
            if (i == 0 || IsLeftBoundary(s[i - 1]))
            {
                var level = (s[i] | 0x20) switch
                {
                    't' => Word(s, i, s_trace, s_trace),
                    'd' => Word(s, i, s_debug, s_debug),
                    'f' => Word(s, i, s_fatal, s_fatal),
                    'c' => Word(s, i, s_critical, s_critical),
                    'e' => Word(s, i, s_error, s_error) ?? Word(s, i, "err"u8, s_error),
                    'w' => Word(s, i, "warning"u8, s_warn) ?? Word(s, i, s_warn, s_warn),
                    _ => Word(s, i, s_info, s_info),
                };
                if (level is not null)
                {
                    return level;
                }
            }

            i++;
        }

        return s_unknown;
    }

    /// <summary>A label's or field's level value normalised (Loki's <c>normalizeLogLevel</c>): a level name, or the value itself.</summary>
    internal static string Normalize(string value) => Known(Encoding.UTF8.GetBytes(value)) is { } known ? Encoding.UTF8.GetString(known) : value;

    private static byte[]? Word(ReadOnlySpan<byte> s, int at, ReadOnlySpan<byte> word, byte[] level)
    {
        var end = at + word.Length;
        return end <= s.Length && Ascii.EqualsIgnoreCase(s.Slice(at, word.Length), word) && (end == s.Length || IsRightBoundary(s[end]))
            ? level
            : null;
    }

    // Colons are not a left boundary (misc:error is not a level) but are a right one (debug: message), as in Loki.
    private static bool IsLeftBoundary(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'[' or (byte)'(' or (byte)'{'
        or (byte)'"' or (byte)'\'' or (byte)'=' or (byte)'|';

    private static bool IsRightBoundary(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'[' or (byte)']' or (byte)'('
        or (byte)')' or (byte)'{' or (byte)'}' or (byte)':' or (byte)',' or (byte)'!' or (byte)'"' or (byte)'\'' or (byte)'=' or (byte)'|';

    /// <summary>The level name a value spells, any case (<c>WARNING</c>, <c>wrn</c>, <c>information</c>...), or <see langword="null"/>.</summary>
    private static byte[]? Known(ReadOnlySpan<byte> v)
    {
        if (v.Length is < 3 or > 11)
        {
            return null;
        }

        return (v[0] | 0x20) switch
        {
            't' when Ascii.EqualsIgnoreCase(v, s_trace) || Ascii.EqualsIgnoreCase(v, "trc"u8) => s_trace,
            'd' when Ascii.EqualsIgnoreCase(v, s_debug) || Ascii.EqualsIgnoreCase(v, "dbg"u8) => s_debug,
            'i' when Ascii.EqualsIgnoreCase(v, s_info) || Ascii.EqualsIgnoreCase(v, "inf"u8) || Ascii.EqualsIgnoreCase(v, "information"u8) => s_info,
            'w' when Ascii.EqualsIgnoreCase(v, s_warn) || Ascii.EqualsIgnoreCase(v, "wrn"u8) || Ascii.EqualsIgnoreCase(v, "warning"u8) => s_warn,
            'e' when Ascii.EqualsIgnoreCase(v, s_error) || Ascii.EqualsIgnoreCase(v, "err"u8) => s_error,
            'c' when Ascii.EqualsIgnoreCase(v, s_critical) => s_critical,
            'f' when Ascii.EqualsIgnoreCase(v, s_fatal) => s_fatal,
            _ => null,
        };
    }

    /// <summary>OTLP's severity number to a level, as Loki maps it (1-4 trace, 5-8 debug, ... 21-24 fatal; not a number: info).</summary>
    private static byte[] FromSeverityNumber(ReadOnlySpan<byte> text)
    {
        if (!System.Buffers.Text.Utf8Parser.TryParse(text, out int number, out var used) || used != text.Length)
        {
            return s_info;
        }

        return number switch
        {
            0 => s_unknown,
            <= 4 and > 0 => s_trace,
            <= 8 and > 0 => s_debug,
            <= 12 and > 0 => s_info,
            <= 16 and > 0 => s_warn,
            <= 20 and > 0 => s_error,
            <= 24 and > 0 => s_fatal,
            _ => s_unknown,
        };
    }

    private static bool IsJson(ReadOnlySpan<byte> line)
    {
        var trimmed = line.Trim(" \t\n\r\v\f"u8);
        return trimmed.Length > 0 && trimmed[0] == '{' && trimmed[^1] == '}';
    }

    /// <summary>
    /// The first string value of a level field (by its raw name) in document order, looking into nested objects up to
    /// <see cref="JsonLevelMaxDepth"/> levels (arrays are not looked into); empty when there is none or the line is not JSON.
    /// </summary>
    private static ReadOnlySpan<byte> JsonLevel(ReadOnlySpan<byte> line) =>
        FlatJsonLevel(line, out var level) ? level : JsonLevelByReader(line);

    /// <summary>
    /// The common case without a JSON reader: the line's top-level keys and scalar values read in place, until a level
    /// field with a plain string value. Gives up (false) at anything it does not read exactly as the reader would: a
    /// nested object or array before the level field, an escape in a key or in the level value, a malformed token, the
    /// end of the line. A true answer is the reader's answer (the level field came first in document order, and
    /// everything before it was valid JSON).
    /// </summary>
    internal static bool FlatJsonLevel(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> level)
    {
        level = default;
        var i = SkipJsonWhitespace(line, 0);
        if (i >= line.Length || line[i] != (byte)'{')
        {
            return false;
        }

        while (true)
        {
            i = SkipJsonWhitespace(line, i + 1);
            if (i >= line.Length || line[i] != (byte)'"')
            {
                return false;
            }

            var keyLength = line[(i + 1)..].IndexOfAny((byte)'"', (byte)'\\');
            if (keyLength < 0 || line[i + 1 + keyLength] != (byte)'"')
            {
                return false;
            }

            var key = line.Slice(i + 1, keyLength);
            if (key.ContainsAnyInRange((byte)0, (byte)0x1F))
            {
                return false;
            }

            i = SkipJsonWhitespace(line, i + keyLength + 2);
            if (i >= line.Length || line[i] != (byte)':')
            {
                return false;
            }

            i = SkipJsonWhitespace(line, i + 1);
            if (i >= line.Length)
            {
                return false;
            }

            switch (line[i])
            {
                case (byte)'"':
                    var valueLength = line[(i + 1)..].IndexOfAny((byte)'"', (byte)'\\');
                    if (valueLength < 0 || line[i + 1 + valueLength] != (byte)'"')
                    {
                        return false;
                    }

                    if (line.Slice(i + 1, valueLength).ContainsAnyInRange((byte)0, (byte)0x1F))
                    {
                        return false;
                    }

                    if (IsLevelField(key))
                    {
                        // The reader refuses invalid UTF-8 anywhere it has read.
                        level = line.Slice(i + 1, valueLength);
                        return System.Text.Unicode.Utf8.IsValid(line[..(i + 1 + valueLength)]);
                    }

                    i += valueLength + 2;
                    break;
                case (byte)'t' when line[i..].StartsWith("true"u8):
                    i += 4;
                    break;
                case (byte)'f' when line[i..].StartsWith("false"u8):
                    i += 5;
                    break;
                case (byte)'n' when line[i..].StartsWith("null"u8):
                    i += 4;
                    break;
                case (byte)'-' or (>= (byte)'0' and <= (byte)'9'):
                    var numberLength = line[i..].IndexOfAnyExcept(s_jsonNumber);
                    if (numberLength < 0 || !IsJsonNumber(line.Slice(i, numberLength)))
                    {
                        return false;
                    }

                    i += numberLength;
                    break;
                default:
                    return false;
            }

            i = SkipJsonWhitespace(line, i);
            if (i >= line.Length || line[i] != (byte)',')
            {
                // The end of the object (or something else) with no level field: the reader decides.
                return false;
            }
        }
    }

    private static readonly SearchValues<byte> s_jsonNumber = SearchValues.Create("0123456789+-.eE"u8);

    /// <summary>JSON's number grammar: <c>-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?</c>.</summary>
    private static bool IsJsonNumber(ReadOnlySpan<byte> n)
    {
        var i = n.Length > 0 && n[0] == (byte)'-' ? 1 : 0;
        if (i >= n.Length || !char.IsAsciiDigit((char)n[i]))
        {
            return false;
        }

        if (n[i] == (byte)'0')
        {
            i++;
        }
        else
        {
            while (i < n.Length && char.IsAsciiDigit((char)n[i]))
            {
                i++;
            }
        }

        if (i < n.Length && n[i] == (byte)'.')
        {
            var start = ++i;
            while (i < n.Length && char.IsAsciiDigit((char)n[i]))
            {
                i++;
            }

            if (i == start)
            {
                return false;
            }
        }

        if (i < n.Length && (n[i] | 0x20) == (byte)'e')
        {
            i++;
            if (i < n.Length && n[i] is (byte)'+' or (byte)'-')
            {
                i++;
            }

            var start = i;
            while (i < n.Length && char.IsAsciiDigit((char)n[i]))
            {
                i++;
            }

            if (i == start)
            {
                return false;
            }
        }

        return i == n.Length;
    }

    private static int SkipJsonWhitespace(ReadOnlySpan<byte> line, int i)
    {
        while (i < line.Length && line[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            i++;
        }

        return i;
    }

    internal static ReadOnlySpan<byte> JsonLevelByReader(ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return default;
            }

            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName)
                {
                    continue;
                }

                var depth = reader.CurrentDepth;
                var isLevelField = IsLevelField(reader.ValueSpan);
                if (!reader.Read())
                {
                    break;
                }

                switch (reader.TokenType)
                {
                    case JsonTokenType.String when isLevelField:
                        return reader.ValueSpan;
                    case JsonTokenType.StartObject when depth >= JsonLevelMaxDepth:
                    case JsonTokenType.StartArray:
                        reader.Skip();
                        break;
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON after all: what was read held no level field.
        }

        return default;
    }

    private static bool IsLevelField(ReadOnlySpan<byte> name)
    {
        if (name.Length is < 3 or > 13 || (name[0] | 0x20) is not ((byte)'l' or (byte)'s'))
        {
            return false;
        }

        foreach (var field in s_levelFieldBytes)
        {
            if (name.SequenceEqual(field))
            {
                return true;
            }
        }

        return false;
    }

    private StreamFacts StreamFor(DistributorLimits limits, LabelSet labels)
    {
        if (_streams.TryGetValue((limits, labels), out var facts))
        {
            return facts;
        }

        var stored = labels;
        if (limits.DiscoverServiceName.Count > 0 && !labels.Contains(ServiceNameLabel) && !labels.HasInternal)
        {
            var service = UnknownService;
            foreach (var name in limits.DiscoverServiceName)
            {
                if (labels.TryGetValue(name, out var value) && value.Length > 0)
                {
                    service = value;
                    break;
                }
            }

            stored = labels.ToBuilder().Set(ServiceNameLabel, service).Build();
        }

        byte[]? labelLevel = null;
        foreach (var field in s_levelFields)
        {
            if (labels.TryGetValue(field, out var value) && value.Length > 0)
            {
                labelLevel = Known(Encoding.UTF8.GetBytes(value)) ?? Encoding.UTF8.GetBytes(value);
                break;
            }
        }

        if (_streams.Count >= MaxCachedStreams)
        {
            _streams.Clear();
        }

        facts = new StreamFacts(stored, labelLevel);
        _streams[(limits, labels)] = facts;
        return facts;
    }

    private sealed record StreamFacts(LabelSet Labels, byte[]? LabelLevel);

    /// <summary>The logfmt level field of the highest priority (keys compared in any case, as Loki does) and its level, if it names one.</summary>
    private struct LogfmtLevel : IExtractionTarget
    {
        private int _priority;
        private bool _found;

        public byte[]? Level { get; private set; }

        public void SetKey(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
        {
            var limit = _found ? _priority : s_levelFieldBytes.Length;
            for (var i = 0; i < limit; i++)
            {
                if (Ascii.EqualsIgnoreCase(key, s_levelFieldBytes[i]))
                {
                    _found = true;
                    _priority = i;
                    Level = Known(value);
                    return;
                }
            }
        }

        public readonly void Set(int output, ReadOnlySpan<byte> value)
        {
        }

        public readonly void Set(int output, ReadOnlySpan<char> value)
        {
        }
    }
}
