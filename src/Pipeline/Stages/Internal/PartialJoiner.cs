using System.Buffers;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Stages.Internal;

/// <summary>
/// Joins the partial pieces of long lines (CRI <c>P</c> lines, docker json-file pieces without a trailing newline)
/// per stream, as Promtail and Grafana Alloy do. A held piece's bytes are copied here and its entry is dropped with
/// its acknowledgement token moved into the pending join, so the source cannot commit past the piece until the joined
/// entry is delivered (or, after a crash, the pieces are read again).
/// </summary>
internal sealed class PartialJoiner
{
    private readonly List<Pending> _pending = [];
    private readonly int _maxStreams;
    private readonly long _maxSize;
    private readonly bool _truncate;

    public PartialJoiner(int maxStreams, long maxSize, bool truncate)
    {
        _maxStreams = maxStreams;
        _maxSize = maxSize <= 0 ? long.MaxValue : maxSize;
        _truncate = truncate;
    }

    /// <summary>The number of streams with a pending join.</summary>
    public int PendingStreams => _pending.Count;

    /// <summary>How many partial pieces passed through unjoined because too many streams had pending joins.</summary>
    public long Overflowed { get; private set; }

    /// <summary>
    /// Handles a partial piece whose content is already the entry's line. Returns <see cref="StageResult.Keep"/> when
    /// the entry goes on (joined content flushed at the size limit, or the stream table is full) and
    /// <see cref="StageResult.Absorb"/> when the piece is held; a held entry's token is moved out (its
    /// <see cref="LogEntry.Ack"/> becomes <see cref="AckToken.None"/>).
    /// </summary>
    public StageResult AddPartial(LogEntry entry, LabelSet stream)
    {
        var pending = Find(stream);
        if (pending is null)
        {
            if (_pending.Count >= _maxStreams)
            {
                Overflowed++;
                return StageResult.Keep;
            }

            pending = new Pending(stream);
            _pending.Add(pending);
        }

        pending.Append(entry.Line, _truncate ? _maxSize : long.MaxValue);
        pending.Ack = AckToken.Merge(pending.Ack, entry.Ack);
        entry.Ack = AckToken.None;

        if (!_truncate && pending.Length >= _maxSize)
        {
            // Bound memory: hand on what is joined so far as one entry and start over.
            Flush(entry, pending);
            return StageResult.Keep;
        }

        return StageResult.Absorb;
    }

    /// <summary>Handles a final piece (content already the entry's line): prepends any pending pieces of its stream.</summary>
    public void AddFinal(LogEntry entry, LabelSet stream)
    {
        var pending = Find(stream);
        if (pending is null)
        {
            if (_truncate && entry.LineLength > _maxSize)
            {
                entry.TruncateLine((int)_maxSize);
            }

            return;
        }

        pending.Append(entry.Line, _truncate ? _maxSize : long.MaxValue);
        pending.Ack = AckToken.Merge(pending.Ack, entry.Ack);
        Flush(entry, pending);
    }

    private void Flush(LogEntry entry, Pending pending)
    {
        entry.SetLine(pending.Content);
        entry.Ack = pending.Ack;
        _pending.Remove(pending);
        pending.Dispose();
    }

    private Pending? Find(LabelSet stream)
    {
        foreach (var pending in _pending)
        {
            if (ReferenceEquals(pending.Stream, stream) || pending.Stream.Equals(stream))
            {
                return pending;
            }
        }

        return null;
    }

    private sealed class Pending(LabelSet stream) : IDisposable
    {
        private byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);

        public LabelSet Stream { get; } = stream;

        public int Length { get; private set; }

        public AckToken Ack { get; set; }

        public ReadOnlySpan<byte> Content => _buffer.AsSpan(0, Length);

        public void Append(ReadOnlySpan<byte> piece, long limit)
        {
            var room = limit - Length;
            if (room <= 0)
            {
                return;
            }

            if (piece.Length > room)
            {
                piece = piece[..(int)room];
            }

            if (Length + piece.Length > _buffer.Length)
            {
                var grown = ArrayPool<byte>.Shared.Rent(Math.Max(Length + piece.Length, _buffer.Length * 2));
                _buffer.AsSpan(0, Length).CopyTo(grown);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = grown;
            }

            piece.CopyTo(_buffer.AsSpan(Length));
            Length += piece.Length;
        }

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }
}
