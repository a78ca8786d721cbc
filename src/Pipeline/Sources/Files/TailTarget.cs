using Pipeline.Model;

namespace Pipeline.Sources.Files;

/// <summary>One file a <see cref="FileTailSource"/> is tailing, as its <c>/targets</c> page shows it.</summary>
/// <param name="Path">The path as matched.</param>
/// <param name="Labels">The labels its entries carry.</param>
/// <param name="ReadPosition">Bytes read so far.</param>
/// <param name="CommittedPosition">Bytes whose lines every sink has acknowledged (what the positions file stores).</param>
/// <param name="Size">The file size at the last look (-1 before the first).</param>
/// <param name="State"><c>reading</c>, <c>idle</c> (handle closed until it grows) or <c>finishing</c> (rotated or deleted, read to its end).</param>
public sealed record TailTarget(string Path, LabelSet Labels, long ReadPosition, long CommittedPosition, long Size, string State);
