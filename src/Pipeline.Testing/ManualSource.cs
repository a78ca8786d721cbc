using System.Text;
using System.Threading.Channels;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Testing;

/// <summary>
/// A source a test drives by hand: write entries, then <see cref="Complete"/>. Each entry's position is its
/// 1-based sequence number, so <see cref="CommittedPosition"/> says how many leading entries every sink has
/// acknowledged.
/// </summary>
public sealed class ManualSource : ILogSource
{
    private readonly Channel<Pending> _pending;
    private readonly TaskCompletionSource<AckTracker> _tracker = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _written;
    private AckTracker? _activeTracker;

    /// <summary>Creates the source.</summary>
    /// <param name="capacity">How many written entries may wait before <see cref="WriteAsync(string, LabelSet?, long?, string?)"/> waits too.</param>
    public ManualSource(int capacity = 1024)
    {
        _pending = Channel.CreateBounded<Pending>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>The labels given to entries written without labels.</summary>
    public LabelSet DefaultLabels { get; set; } = LabelSet.Parse("{job=\"test\"}");

    /// <summary>How many entries were written.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>The highest position (entry number) up to which every entry is acknowledged by every sink; 0 before start.</summary>
    public long CommittedPosition => Volatile.Read(ref _activeTracker)?.CommittedPosition ?? 0;

    /// <summary>Why stages or sinks refused written entries (<see cref="StageResult.Reject"/>, <see cref="AckToken.Acknowledge(EntryRejection)"/>).</summary>
    public IReadOnlyList<EntryRejection> Rejections => Volatile.Read(ref _activeTracker)?.Rejections ?? [];

    /// <summary>Writes an entry.</summary>
    /// <param name="line">The line.</param>
    /// <param name="labels">Its labels; <see cref="DefaultLabels"/> when <see langword="null"/>.</param>
    /// <param name="timestamp">Unix nanoseconds; the entry number when <see langword="null"/>.</param>
    /// <param name="tenant">The tenant, if any.</param>
    /// <returns>A task that completes when the entry is queued.</returns>
    public ValueTask WriteAsync(string line, LabelSet? labels = null, long? timestamp = null, string? tenant = null) =>
        WriteAsync(entry =>
        {
            entry.SetLine(line.AsSpan());
            entry.Labels = labels ?? DefaultLabels;
            if (timestamp is { } ts)
            {
                entry.Timestamp = ts;
            }

            entry.Tenant = tenant;
        });

    /// <summary>Writes an entry that <paramref name="fill"/> sets up (line, labels, metadata...).</summary>
    /// <param name="fill">Fills the entry; its timestamp starts as the entry number.</param>
    /// <returns>A task that completes when the entry is queued.</returns>
    public ValueTask WriteAsync(Action<LogEntry> fill)
    {
        ArgumentNullException.ThrowIfNull(fill);
        Interlocked.Increment(ref _written);
        return _pending.Writer.WriteAsync(new Pending(fill));
    }

    /// <summary>Writes several lines with the default labels.</summary>
    /// <param name="lines">The lines.</param>
    /// <returns>A task that completes when all are queued.</returns>
    public async ValueTask WriteLinesAsync(params string[] lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        foreach (var line in lines)
        {
            await WriteAsync(line).ConfigureAwait(false);
        }
    }

    /// <summary>Says that nothing more will be written; the source ends once everything is emitted.</summary>
    public void Complete() => _pending.Writer.TryComplete();

    /// <summary>Waits until the first <paramref name="position"/> entries are acknowledged by every sink.</summary>
    /// <param name="position">The entry number.</param>
    /// <param name="timeout">How long to wait; 30 s when <see langword="null"/>.</param>
    /// <returns>A task that completes when committed.</returns>
    /// <exception cref="TimeoutException">Not committed in time.</exception>
    public async Task WaitForCommittedAsync(long position, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Harness.DefaultTimeout;
        try
        {
            var tracker = await _tracker.Task.WaitAsync(limit).ConfigureAwait(false);
            await tracker.WaitForCommitAsync(position).WaitAsync(limit).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Position {position} was not committed within {limit} (committed: {CommittedPosition}).");
        }
    }

    /// <inheritdoc/>
    public async Task RunAsync(SourceContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var tracker = context.CreateAckTracker();
        Volatile.Write(ref _activeTracker, tracker);
        _tracker.TrySetResult(tracker);
        var reader = _pending.Reader;
        long position = 0;
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var chunk = context.Chunks.Rent();
            while (!chunk.IsFull && reader.TryRead(out var pending))
            {
                var entry = chunk.Add();
                position++;
                entry.Timestamp = position;
                entry.Labels = DefaultLabels;
                pending.Fill(entry);
                entry.Ack = tracker.Track(position);
            }

            await context.EmitAsync(chunk, cancellationToken).ConfigureAwait(false);
        }
    }

    private readonly record struct Pending(Action<LogEntry> Fill);
}

/// <summary>Defaults shared by the harness types.</summary>
internal static class Harness
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    public static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}
