using System.Threading.Channels;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Testing;

/// <summary>
/// A sink that keeps a copy of every entry, in arrival order. By default it acknowledges each entry as it
/// arrives; with <c>autoAcknowledge: false</c> it holds the acknowledgements until <see cref="AcknowledgePending"/>,
/// which is how a test plays a slow endpoint or one that never answers.
/// </summary>
public sealed class CollectingSink : ILogSink
{
    private readonly Lock _lock = new();
    private readonly List<CollectedEntry> _entries = [];
    private readonly List<AckToken> _pending = [];
    private readonly List<(int Count, TaskCompletionSource Signal)> _waiters = [];
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly bool _autoAcknowledge;

    /// <summary>Creates the sink.</summary>
    /// <param name="autoAcknowledge">Acknowledge each entry on arrival (a healthy endpoint).</param>
    public CollectingSink(bool autoAcknowledge = true) => _autoAcknowledge = autoAcknowledge;

    /// <summary>A copy of the entries received so far.</summary>
    public IReadOnlyList<CollectedEntry> Entries
    {
        get
        {
            lock (_lock)
            {
                return [.. _entries];
            }
        }
    }

    /// <summary>The lines received so far.</summary>
    public IReadOnlyList<string> Lines => [.. Entries.Select(e => e.Line)];

    /// <summary>How many entries were received.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Completes when the sink's input has completed (the pipeline drained to it).</summary>
    public Task Completion => _completed.Task;

    /// <summary>Acknowledges every entry received but not yet acknowledged.</summary>
    /// <returns>How many were acknowledged.</returns>
    public int AcknowledgePending()
    {
        AckToken[] tokens;
        lock (_lock)
        {
            tokens = [.. _pending];
            _pending.Clear();
        }

        foreach (var token in tokens)
        {
            token.Acknowledge();
        }

        return tokens.Length;
    }

    /// <summary>Waits until at least <paramref name="count"/> entries have arrived.</summary>
    /// <param name="count">How many.</param>
    /// <param name="timeout">How long to wait; 30 s when <see langword="null"/>.</param>
    /// <returns>The entries received by then.</returns>
    /// <exception cref="TimeoutException">Fewer arrived in time.</exception>
    public async Task<IReadOnlyList<CollectedEntry>> WaitForCountAsync(int count, TimeSpan? timeout = null)
    {
        TaskCompletionSource signal;
        lock (_lock)
        {
            if (_entries.Count >= count)
            {
                return [.. _entries];
            }

            signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, signal));
        }

        var limit = timeout ?? Harness.DefaultTimeout;
        try
        {
            await signal.Task.WaitAsync(limit).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Expected {count} entries within {limit}, got {Count}.");
        }

        return Entries;
    }

    /// <inheritdoc/>
    public async Task RunAsync(ChannelReader<EntryChunk> input, ComponentContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            while (await input.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (input.TryRead(out var chunk))
                {
                    Collect(chunk);
                    context.Metrics.AddSent(chunk.Count);
                    chunk.Release();
                }
            }
        }
        finally
        {
            _completed.TrySetResult();
        }
    }

    private void Collect(EntryChunk chunk)
    {
        List<TaskCompletionSource>? release = null;
        lock (_lock)
        {
            foreach (var entry in chunk.Entries)
            {
                _entries.Add(CollectedEntry.From(entry));
                if (_autoAcknowledge)
                {
                    entry.Ack.Acknowledge();
                }
                else
                {
                    _pending.Add(entry.Ack);
                }
            }

            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Count <= _entries.Count)
                {
                    (release ??= []).Add(_waiters[i].Signal);
                    _waiters.RemoveAt(i);
                }
            }
        }

        release?.ForEach(s => s.TrySetResult());
    }
}
