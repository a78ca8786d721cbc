using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Hosting.Logging;

/// <summary>
/// A source fed by the app's own <see cref="ILogger"/> calls (through <see cref="PipelineLoggerProvider"/>). A
/// logging call never waits: records go into a bounded buffer, and when it is full they are dropped and counted
/// (<c>pipeline.component.dropped{reason="buffer_full"}</c>). When the pipeline stops, what is buffered is flushed.
/// </summary>
public sealed class LoggerSource : ILogSource
{
    /// <summary>The drop reason of records that found the buffer full.</summary>
    public const string BufferFullReason = "buffer_full";

    private static readonly string[] s_levels = ["trace", "debug", "info", "warn", "error", "critical"];

    private readonly Channel<Record> _records;
    private readonly LabelSet[] _labelsByLevel;
    private readonly TimeProvider _timeProvider;
    private long _dropped;

    /// <summary>Creates the source.</summary>
    /// <param name="options">Labels, capacity and filters.</param>
    /// <param name="timeProvider">The clock stamping records; the system clock when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">A label name is invalid or the capacity is below 1.</exception>
    public LoggerSource(PipelineLoggerOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        var baseLabels = options.BuildBaseLabels();
        _labelsByLevel = [.. s_levels.Select(level => baseLabels.ToBuilder().Set("level", level).Build())];
        _timeProvider = timeProvider ?? TimeProvider.System;
        _records = Channel.CreateBounded<Record>(new BoundedChannelOptions(options.Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
    }

    /// <summary>The options.</summary>
    public PipelineLoggerOptions Options { get; }

    /// <summary>Records dropped because the buffer was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues a record without waiting; drops and counts it when the buffer is full.</summary>
    /// <param name="level">The level.</param>
    /// <param name="category">The logger category.</param>
    /// <param name="eventId">The event id.</param>
    /// <param name="message">The formatted message.</param>
    /// <param name="exception">The exception, if any.</param>
    /// <param name="scope">The formatted scopes, if any.</param>
    /// <returns>Whether the record was queued.</returns>
    public bool TryWrite(LogLevel level, string category, EventId eventId, string message, Exception? exception, string? scope)
    {
        var record = new Record(_timeProvider.GetUtcNow(), level, category, eventId, message, exception, scope);
        if (_records.Writer.TryWrite(record))
        {
            return true;
        }

        Interlocked.Increment(ref _dropped);
        return false;
    }

    /// <inheritdoc/>
    public async Task RunAsync(SourceContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var reader = _records.Reader;
        long reported = 0;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                reported = ReportDrops(context, reported);

                // Emits wait on downstream, never on the stop signal: a record taken from the buffer is always handed on.
                await EmitAvailableAsync(context, context.Aborted).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: flush below.
        }

        ReportDrops(context, reported);
        while (reader.TryPeek(out _))
        {
            await EmitAvailableAsync(context, context.Aborted).ConfigureAwait(false);
        }
    }

    private long ReportDrops(SourceContext context, long reported)
    {
        var dropped = Dropped;
        context.Metrics.AddDropped(dropped - reported, BufferFullReason);
        return dropped;
    }

    private async Task EmitAvailableAsync(SourceContext context, CancellationToken cancellationToken)
    {
        var chunk = context.Chunks.Rent();
        var text = new StringBuilder();
        while (!chunk.IsFull && _records.Reader.TryRead(out var record))
        {
            var entry = chunk.Add();
            entry.Timestamp = (record.Time.ToUnixTimeMilliseconds() * 1_000_000) + (record.Time.Ticks % TimeSpan.TicksPerMillisecond * 100);
            entry.Labels = _labelsByLevel[Math.Clamp((int)record.Level, 0, s_levels.Length - 1)];
            text.Clear().Append(record.Message);
            if (record.Exception is not null)
            {
                text.Append('\n').Append(record.Exception);
            }

            entry.SetLine(text.ToString().AsSpan());
            entry.Metadata.Set("category", record.Category.AsSpan());
            if (record.EventId.Id != 0)
            {
                entry.Metadata.Set("event_id", record.EventId.Id.ToString(System.Globalization.CultureInfo.InvariantCulture).AsSpan());
            }

            if (record.Scope is not null)
            {
                entry.Metadata.Set("scope", record.Scope.AsSpan());
            }
        }

        await context.EmitAsync(chunk, cancellationToken).ConfigureAwait(false);
    }

    private readonly record struct Record(DateTimeOffset Time, LogLevel Level, string Category, EventId EventId, string Message, Exception? Exception, string? Scope);
}
