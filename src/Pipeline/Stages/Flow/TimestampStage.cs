using System.Globalization;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Flow;

/// <summary>
/// Promtail's <c>timestamp</c> stage: sets the entry's timestamp (Unix nanoseconds) from an extracted value, parsed
/// with a Go layout or a named format, then the fallback formats. When nothing parses (or the source is missing),
/// <c>fudge</c> sets the stream's last parsed timestamp plus 1 ns (keeping order in the stream) when there is one,
/// and <c>skip</c> keeps the timestamp the entry had.
/// </summary>
public sealed class TimestampStage : ILogStage, IContextAware
{
    private const int MaxStreams = 10_000; // Promtail's last-known-timestamp cache size.

    private readonly Parser[] _parsers;
    private readonly string _source;
    private readonly TimeZoneInfo? _location;
    private readonly bool _fudge;
    private readonly Dictionary<ulong, long> _lastKnown = [];
    private TimeProvider _time;

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">A required option is missing, or a format, location or action is invalid.</exception>
    public TimestampStage(TimestampStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        OptionNames.RequireSource(options.Source, "timestamp");
        if (string.IsNullOrEmpty(options.Format))
        {
            throw new StageOptionsException("timestamp", "format", options.Format, "a Go layout such as 2006-01-02T15:04:05Z07:00 or a name such as RFC3339Nano or UnixMs");
        }

        var action = options.ActionOnFailure ?? TimestampStageOptions.DefaultActionOnFailure;
        if (action is not ("fudge" or "skip"))
        {
            throw new StageOptionsException("timestamp", "action_on_failure", action, "fudge or skip");
        }

        if (!string.IsNullOrEmpty(options.Location))
        {
            try
            {
                _location = TimeZoneInfo.FindSystemTimeZoneById(options.Location);
            }
            catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
            {
                throw new StageOptionsException("timestamp", "location", options.Location, "an IANA time zone name such as Europe/Paris or America/New_York", ex);
            }
        }

        var parsers = new List<Parser> { Parser.Create(options.Format, "format") };
        for (var i = 0; i < (options.FallbackFormats?.Count ?? 0); i++)
        {
            parsers.Add(Parser.Create(options.FallbackFormats![i], $"fallback_formats[{i}]"));
        }

        _parsers = [.. parsers];
        _source = options.Source!;
        _fudge = action == "fudge";
        _time = options.TimeProvider ?? TimeProvider.System;
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public TimestampStageOptions Options { get; }

    /// <inheritdoc/>
    public void Attach(ComponentContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Options.TimeProvider is null)
        {
            _time = context.TimeProvider;
        }
    }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Extracted.TryGetValue(_source, out var value))
        {
            foreach (var parser in _parsers)
            {
                if (parser.TryParse(value, this, out var timestamp))
                {
                    entry.Timestamp = timestamp;
                    if (_fudge)
                    {
                        Remember(entry.Labels.Fingerprint, timestamp);
                    }

                    return StageResult.Keep;
                }
            }
        }

        if (_fudge && _lastKnown.TryGetValue(entry.Labels.Fingerprint, out var last))
        {
            entry.Timestamp = last + 1;
            _lastKnown[entry.Labels.Fingerprint] = last + 1;
        }

        return StageResult.Keep;
    }

    private void Remember(ulong stream, long timestamp)
    {
        if (_lastKnown.Count >= MaxStreams && !_lastKnown.ContainsKey(stream))
        {
            _lastKnown.Clear();
        }

        _lastKnown[stream] = timestamp;
    }

    private int CurrentYear => _time.GetUtcNow().Year;

    private sealed class Parser
    {
        private readonly int _unixScale; // 0: layout; 1: Unix seconds; else ns per unit
        private readonly GoTimeLayout? _layout;
        private readonly bool _rfc3339;

        private Parser(int unixScale, GoTimeLayout? layout, bool rfc3339)
        {
            _unixScale = unixScale;
            _layout = layout;
            _rfc3339 = rfc3339;
        }

        public static Parser Create(string? format, string field)
        {
            var layout = format switch
            {
                "RFC3339" or "RFC3339Nano" => null,
                "Unix" or "UnixMs" or "UnixUs" or "UnixNs" => null,
                "ANSIC" => "Mon Jan _2 15:04:05 2006",
                "UnixDate" => "Mon Jan _2 15:04:05 MST 2006",
                "RubyDate" => "Mon Jan 02 15:04:05 -0700 2006",
                "RFC822" => "02 Jan 06 15:04 MST",
                "RFC822Z" => "02 Jan 06 15:04 -0700",
                "RFC850" => "Monday, 02-Jan-06 15:04:05 MST",
                "RFC1123" => "Mon, 02 Jan 2006 15:04:05 MST",
                "RFC1123Z" => "Mon, 02 Jan 2006 15:04:05 -0700",
                "Kitchen" => "3:04PM",
                "Stamp" => "Jan _2 15:04:05",
                "StampMilli" => "Jan _2 15:04:05.000",
                "StampMicro" => "Jan _2 15:04:05.000000",
                "StampNano" => "Jan _2 15:04:05.000000000",
                _ => format,
            };

            switch (format)
            {
                case "RFC3339" or "RFC3339Nano":
                    return new Parser(0, null, rfc3339: true);
                case "Unix":
                    return new Parser(1, null, false);
                case "UnixMs":
                    return new Parser(1_000_000, null, false);
                case "UnixUs":
                    return new Parser(1_000, null, false);
                case "UnixNs":
                    return new Parser(-1, null, false);
            }

            if (string.IsNullOrEmpty(layout))
            {
                throw new StageOptionsException("timestamp", field, format, "a Go layout or a format name");
            }

            try
            {
                return new Parser(0, GoTimeLayout.Compile(layout), false);
            }
            catch (FormatException ex)
            {
                throw new StageOptionsException("timestamp", field, format, ex.Message, ex);
            }
        }

        public bool TryParse(ReadOnlySpan<byte> value, TimestampStage stage, out long timestamp)
        {
            if (_rfc3339)
            {
                return Utf8Time.TryParseRfc3339(value, out timestamp);
            }

            if (_layout is not null)
            {
                return _layout.TryParse(value, _layout.HasYear ? 0 : stage.CurrentYear, _layout.HasZone ? null : stage._location, out timestamp);
            }

            timestamp = 0;
            if (_unixScale == 1)
            {
                // Unix seconds with an optional fraction of up to 9 digits.
                var dot = value.IndexOf((byte)'.');
                var whole = dot < 0 ? value : value[..dot];
                if (!long.TryParse(whole, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds)
                    || seconds > long.MaxValue / Utf8Time.NanosPerSecond || seconds < long.MinValue / Utf8Time.NanosPerSecond)
                {
                    return false;
                }

                long nanos = 0;
                if (dot >= 0)
                {
                    var fraction = value[(dot + 1)..];
                    if (fraction.IsEmpty || fraction.Length > 9 || !Utf8Time.TryDigits(fraction, out var f))
                    {
                        return false;
                    }

                    nanos = f;
                    for (var i = fraction.Length; i < 9; i++)
                    {
                        nanos *= 10;
                    }
                }

                timestamp = (seconds * Utf8Time.NanosPerSecond) + (seconds < 0 || (whole.Length > 0 && whole[0] == '-') ? -nanos : nanos);
                return true;
            }

            if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var units))
            {
                return false;
            }

            if (_unixScale == -1)
            {
                timestamp = units;
                return true;
            }

            if (units > long.MaxValue / _unixScale || units < long.MinValue / _unixScale)
            {
                return false;
            }

            timestamp = units * _unixScale;
            return true;
        }
    }
}
