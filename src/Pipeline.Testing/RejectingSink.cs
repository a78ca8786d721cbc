using System.Threading.Channels;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Testing;

/// <summary>
/// A sink that definitively rejects every entry (as an endpoint answering 400 would): each is acknowledged with its
/// <see cref="Rejection"/>, so its source moves on and learns why, and counted as dropped with <see cref="Reason"/>.
/// </summary>
public sealed class RejectingSink : ILogSink
{
    /// <summary>Creates the sink.</summary>
    /// <param name="reason">The drop reason recorded.</param>
    public RejectingSink(string reason = "rejected")
        : this(new EntryRejection(RejectionKind.Invalid, reason, $"rejected by the sink: {reason}"))
    {
    }

    /// <summary>Creates a sink that refuses every entry with <paramref name="rejection"/> (e.g. a <see cref="RejectionKind.Failed"/> write).</summary>
    /// <param name="rejection">Why entries are refused; its reason is the drop reason recorded.</param>
    public RejectingSink(EntryRejection rejection)
    {
        ArgumentNullException.ThrowIfNull(rejection);
        Rejection = rejection;
        Reason = rejection.Reason;
    }

    /// <summary>The drop reason recorded.</summary>
    public string Reason { get; }

    /// <summary>Why entries are refused, as their source sees it.</summary>
    public EntryRejection Rejection { get; }

    /// <summary>How many entries were rejected.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    private long _rejected;

    /// <inheritdoc/>
    public async Task RunAsync(ChannelReader<EntryChunk> input, ComponentContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(context);
        while (await input.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (input.TryRead(out var chunk))
            {
                chunk.AcknowledgeAll(Rejection);
                context.Metrics.AddDropped(chunk.Count, Reason);
                Interlocked.Add(ref _rejected, chunk.Count);
                chunk.Release();
            }
        }
    }
}
