using System.Diagnostics.CodeAnalysis;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Loki.Receiver;

/// <summary>
/// One push request as its entries carry it (<see cref="AckToken.SourceState"/>): stages that decide on a whole request
/// (a tenant rate limit) read its size here and record their decision, so every entry of the request gets the same one.
/// </summary>
public sealed class ReceivedPush : PushDecision
{
    private readonly Dictionary<LabelSet, PushedStream> _streams;

    internal ReceivedPush(string? tenant, int entryCount, long lineBytes, Dictionary<LabelSet, PushedStream> streams)
    {
        Tenant = tenant;
        EntryCount = entryCount;
        LineBytes = lineBytes;
        _streams = streams;
    }

    /// <summary>The tenant, or <see langword="null"/> for the sinks' default.</summary>
    public string? Tenant { get; }

    /// <summary>The entries of the request.</summary>
    public int EntryCount { get; }

    /// <summary>The total bytes of its lines (Loki's measure of ingested volume).</summary>
    public long LineBytes { get; }

    /// <summary>The request's streams (by the labels their entries carry as they leave the receiver).</summary>
    public IReadOnlyCollection<PushedStream> Streams => _streams.Values;

    /// <summary>The request's entries of one stream (by the labels its entries carry as they leave the receiver).</summary>
    /// <param name="labels">The stream's labels.</param>
    /// <param name="stream">The stream's share of the request, when it has entries in it.</param>
    /// <returns>Whether the request has entries of that stream.</returns>
    public bool TryGetStream(LabelSet labels, [NotNullWhen(true)] out PushedStream? stream) => _streams.TryGetValue(labels, out stream);
}
