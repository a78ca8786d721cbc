using System.Text;
using System.Text.RegularExpressions;
using Pipeline.LogQL.Re2;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Flow;

/// <summary>
/// Promtail's <c>drop</c> stage: drops an entry when every configured condition holds (<c>longer_than</c>,
/// <c>older_than</c>, <c>source</c> present / equal to <c>value</c> / matching <c>expression</c>, or <c>expression</c>
/// matching the line), counting it under <c>drop_counter_reason</c>. Regexes run on the non-backtracking engine;
/// matching allocates nothing per line.
/// </summary>
public sealed class DropStage : ILogStage, IContextAware
{
    private readonly string? _source;
    private readonly byte[]? _value;
    private readonly Regex? _regex;
    private readonly long _olderThanNanos;
    private readonly long _longerThan;
    private readonly string _reason;
    private readonly Utf16Scratch _scratch = new();
    private TimeProvider _time;

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">No condition is set, value and expression are both set, or a value is invalid.</exception>
    public DropStage(DropStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Source is null && options.Expression is null && options.OlderThan is null && options.LongerThan is null)
        {
            throw new StageOptionsException("drop", "source", null, "at least one of source, expression, older_than or longer_than");
        }

        if (options.Value is not null && options.Expression is not null)
        {
            throw new StageOptionsException("drop", "value", options.Value, "value or expression, not both");
        }

        if (options.Value is not null && options.Source is null)
        {
            throw new StageOptionsException("drop", "source", null, "a source for value to be compared with");
        }

        OptionNames.OptionalSource(options.Source, "drop");
        if (options.OlderThan is { } age && age <= TimeSpan.Zero)
        {
            throw new StageOptionsException("drop", "older_than", age, "a positive duration");
        }

        if (options.LongerThan is < 0)
        {
            throw new StageOptionsException("drop", "longer_than", options.LongerThan, "a size in bytes, 0 or more");
        }

        _source = options.Source;
        _value = options.Value is null ? null : Encoding.UTF8.GetBytes(options.Value);
        _regex = options.Expression is null ? null : OptionRegex.Compile(options.Expression, "drop", "expression");
        _olderThanNanos = options.OlderThan is { } older ? older.Ticks * 100 : -1;
        _longerThan = options.LongerThan ?? -1;
        _reason = string.IsNullOrEmpty(options.DropCounterReason) ? DropStageOptions.DefaultDropCounterReason : options.DropCounterReason;
        _time = options.TimeProvider ?? TimeProvider.System;
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public DropStageOptions Options { get; }

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
        if (_longerThan >= 0 && entry.LineLength <= _longerThan)
        {
            return StageResult.Keep;
        }

        if (_olderThanNanos >= 0)
        {
            var now = (_time.GetUtcNow().UtcTicks - DateTime.UnixEpoch.Ticks) * 100;
            if (entry.Timestamp >= now - _olderThanNanos)
            {
                return StageResult.Keep;
            }
        }

        if (_source is not null)
        {
            if (!entry.Extracted.TryGetValue(_source, out var value))
            {
                return StageResult.Keep;
            }

            if (_value is not null && !value.SequenceEqual(_value))
            {
                return StageResult.Keep;
            }

            if (_regex is not null && !Matches(value))
            {
                return StageResult.Keep;
            }
        }
        else if (_regex is not null && !Matches(entry.Line))
        {
            return StageResult.Keep;
        }

        return StageResult.Drop(_reason);
    }

    private bool Matches(ReadOnlySpan<byte> utf8)
    {
        _scratch.Load(utf8);
        return _regex!.IsMatch(_scratch.Buffer.AsSpan(0, _scratch.Length));
    }
}
