using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Pipeline.Sources.Files;

/// <summary>One file's committed position.</summary>
/// <param name="Path">The path the file was matched as (its target: the <c>filename</c> label of its lines).</param>
/// <param name="Offset">The offset just past the last line every sink acknowledged (of the uncompressed content).</param>
/// <param name="Identity">The file's device and inode, or <see cref="FileIdentity.None"/> when unknown (a Promtail file).</param>
/// <param name="Fingerprint">A hash of the file's first bytes: detects a recycled inode, and finds the file again once it
/// was compressed or copied.</param>
/// <param name="Size">The size last seen (-1 when unknown): what a file deleted before it was read took with it.</param>
/// <param name="Rotated">Whether the file was rotated away from <paramref name="Path"/> (a generation still being read).</param>
/// <param name="SeenAt">Where a rotated file was last seen, if anywhere.</param>
/// <param name="ReadThrough">A rotated generation read to its end: stored only as the generation before a current file
/// too short to be fingerprinted (whose identity cannot tell whether it rotated since), so that a restart knows which
/// siblings came after it and were never read.</param>
internal readonly record struct PositionEntry(
    string Path, long Offset, FileIdentity Identity, FileFingerprint Fingerprint, long Size = -1, bool Rotated = false, string? SeenAt = null, bool ReadThrough = false)
{
    /// <summary>
    /// The entry's key in the file: its path, or for a rotated generation the path plus its identity and fingerprint
    /// (an inode freed by a deleted generation is soon reused by the next copy or compressed file, so two generations
    /// of one target can share an identity).
    /// </summary>
    public string Key => Rotated ? $"{Path}@{Identity}#{Fingerprint.Hash:x16}" : Path;
}

/// <summary>
/// The positions file: per tailed file, the committed offset, in Promtail's YAML shape
/// (<c>positions: {path: "offset"}</c>, so a Promtail positions file can be taken over) plus a <c>files</c> map with
/// what Promtail lacks: device, inode, a fingerprint of the first bytes and the size last seen; and for rotated
/// generations not yet fully acknowledged (only in <c>files</c>, keyed <c>&lt;path&gt;@&lt;device&gt;:&lt;inode&gt;#&lt;fingerprint&gt;</c>)
/// the <c>target</c> path they were rotated away from and the <c>path</c> they were last seen at.
/// </summary>
/// <remarks>
/// <para>
/// Older files still load: Promtail's (offsets by path, no identity) and ours before rotated generations were kept
/// (<c>v1</c>: no <c>size</c>, no rotated entries). Unknown fields are ignored, so an older version reads a newer file.
/// </para>
/// <para>
/// The shape is fixed, so it is written and read by hand (the core package takes no YAML dependency). Writes are
/// atomic: a temporary file is written, flushed to disk (fsync; for the frequent writes that follow acknowledgements,
/// only periodically) and renamed over the old one, so a crash leaves either the old or the new file. A power loss can still leave a file of zeros or a torn file on some file systems;
/// such a file (and any file that does not parse, or is empty) is reported with a warning naming it, moved aside as
/// <c>&lt;name&gt;.corrupt-&lt;UTC timestamp&gt;</c>, and loading returns no positions with
/// <see cref="LoadResult.WasCorrupt"/> set, so the source applies its configured start policy. Nothing here throws
/// for bad content or I/O failure.
/// </para>
/// <para>
/// Our files start with <see cref="Header"/> and end with <see cref="Trailer"/>; a file that has the header but not
/// the trailer was cut short and counts as corrupt. (The containing directory is not fsynced after the rename:
/// .NET has no portable way to open a directory; a lost rename only means the previous positions, which is safe.)
/// </para>
/// </remarks>
internal sealed class PositionsFile
{
    /// <summary>The first line of a positions file we wrote.</summary>
    public const string Header = "# Pipeline file tail positions v2 (Promtail-compatible `positions`; `files` adds identities and rotated files)";

    /// <summary>The first line of a positions file written before rotated generations were kept (still read).</summary>
    public const string HeaderV1 = "# Pipeline file tail positions v1 (Promtail-compatible `positions`; `files` adds identities)";

    /// <summary>The last line of a positions file we wrote.</summary>
    public const string Trailer = "# end";

    private static readonly Comparison<PositionEntry> s_byKey = static (a, b) =>
    {
        // The order of the keys (path, then path@identity for rotated entries), without building them.
        var byPath = string.CompareOrdinal(a.Path, b.Path);
        return byPath != 0 ? byPath
            : a.Rotated != b.Rotated ? a.Rotated.CompareTo(b.Rotated)
            : a.Identity.Device != b.Identity.Device ? a.Identity.Device.CompareTo(b.Identity.Device)
            : a.Identity.Inode != b.Identity.Inode ? a.Identity.Inode.CompareTo(b.Identity.Inode)
            : a.Fingerprint.Hash.CompareTo(b.Fingerprint.Hash);
    };

    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly List<PositionEntry> _sorted = [];
    private readonly StringBuilder _text = new(4096);
    private byte[] _bytes = new byte[4096];

    public PositionsFile(string path, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The positions file's full path.</summary>
    public string Path { get; }

    /// <summary>Reads the file. A missing file is a first start (no positions); a bad one is moved aside.</summary>
    /// <returns>The positions by path, and whether the file was corrupt.</returns>
    public LoadResult Load()
    {
        string text;
        try
        {
            if (!File.Exists(Path))
            {
                return new LoadResult([], false);
            }

            text = File.ReadAllText(Path, Encoding.UTF8);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            FileTailLog.PositionsUnreadable(_logger, ex, Path);
            return new LoadResult([], true);
        }

        if (TryParse(text, out var entries, out var error))
        {
            return new LoadResult(entries, false);
        }

        var aside = $"{Path}.corrupt-{_timeProvider.GetUtcNow().UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}";
        try
        {
            File.Move(Path, aside, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            FileTailLog.PositionsMoveAsideFailed(_logger, ex, Path, aside);
            aside = "(not moved)";
        }

        FileTailLog.PositionsCorrupt(_logger, Path, error, aside);
        return new LoadResult([], true);
    }

    /// <summary>Writes <paramref name="entries"/> (one caller at a time: the store serializes writes) atomically (temporary file, fsync when <paramref name="durable"/>, rename).</summary>
    /// <param name="entries">The positions.</param>
    /// <param name="durable">
    /// Flush to disk before the rename. Without it the write survives a killed process (the kernel has it) but maybe
    /// not a power loss, after which the previous durable file, or a file found corrupt, is read: positions only go
    /// back, so lines repeat, none is lost.
    /// </param>
    /// <returns>Whether the write succeeded (a failure is logged; the previous file stays).</returns>
    public bool Save(IEnumerable<PositionEntry> entries, bool durable = true)
    {
        var temporary = Path + ".tmp";
        try
        {
            var directory = System.IO.Path.GetDirectoryName(Path);
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            // Written often (as acknowledgements arrive), so the text and bytes are built in buffers kept across writes.
            _sorted.Clear();
            _sorted.AddRange(entries);
            _text.Clear();
            Format(_text, _sorted);
            var length = 0;
            var needed = Encoding.UTF8.GetMaxByteCount(_text.Length);
            if (_bytes.Length < needed)
            {
                _bytes = new byte[Math.Max(needed, _bytes.Length * 2)];
            }

            foreach (var chunk in _text.GetChunks())
            {
                length += Encoding.UTF8.GetBytes(chunk.Span, _bytes.AsSpan(length));
            }

            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                stream.Write(_bytes, 0, length);
                stream.Flush(flushToDisk: durable);
            }

            File.Move(temporary, Path, overwrite: true);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            FileTailLog.PositionsWriteFailed(_logger, ex, Path);
            return false;
        }
    }

    /// <summary>Formats positions as the file's YAML.</summary>
    /// <param name="entries">The positions.</param>
    /// <returns>The text.</returns>
    public static string Format(IEnumerable<PositionEntry> entries)
    {
        var text = new StringBuilder();
        Format(text, [.. entries]);
        return text.ToString();
    }

    private static void Format(StringBuilder text, List<PositionEntry> sorted)
    {
        sorted.Sort(s_byKey);
        text.Append(Header).Append('\n');
        var current = 0;
        foreach (var entry in sorted)
        {
            current += entry.Rotated ? 0 : 1;
        }

        text.Append(current == 0 ? "positions: {}\n" : "positions:\n");
        foreach (var entry in sorted)
        {
            if (!entry.Rotated)
            {
                text.Append("  ");
                AppendQuoted(text, entry.Path);
                text.Append(CultureInfo.InvariantCulture, $": \"{entry.Offset}\"\n");
            }
        }

        text.Append(sorted.Count == 0 ? "files: {}\n" : "files:\n");
        foreach (var entry in sorted)
        {
            text.Append("  ");
            AppendQuoted(text, entry.Path, entry.Rotated ? entry : null);
            text.Append(":\n");
            if (entry.Rotated)
            {
                text.Append("    target: ");
                AppendQuoted(text, entry.Path);
                text.Append('\n');
                if (entry.SeenAt is not null)
                {
                    text.Append("    path: ");
                    AppendQuoted(text, entry.SeenAt);
                    text.Append('\n');
                }
            }

            text.Append(CultureInfo.InvariantCulture, $"    device: {entry.Identity.Device}\n");
            text.Append(CultureInfo.InvariantCulture, $"    inode: {entry.Identity.Inode}\n");
            text.Append(CultureInfo.InvariantCulture, $"    fingerprint: \"{entry.Fingerprint.Hash:x16}\"\n");
            text.Append(CultureInfo.InvariantCulture, $"    fingerprint_bytes: {entry.Fingerprint.Length}\n");
            text.Append(CultureInfo.InvariantCulture, $"    offset: {entry.Offset}\n");
            if (entry.Size >= 0)
            {
                text.Append(CultureInfo.InvariantCulture, $"    size: {entry.Size}\n");
            }

            if (entry.Rotated && entry.ReadThrough)
            {
                text.Append("    read: true\n");
            }
        }

        text.Append(Trailer).Append('\n');
    }

    /// <summary>Parses the file's YAML (ours, or Promtail's <c>positions</c> map alone).</summary>
    /// <param name="text">The file's text.</param>
    /// <param name="entries">The positions by <see cref="PositionEntry.Key"/> (the path, for a file not rotated).</param>
    /// <param name="error">What is wrong, when parsing fails.</param>
    /// <returns>Whether the text is a valid positions file.</returns>
    public static bool TryParse(string text, out Dictionary<string, PositionEntry> entries, out string error)
    {
        entries = new Dictionary<string, PositionEntry>(StringComparer.Ordinal);
        if (text.AsSpan().Trim(" \t\r\n").IsEmpty)
        {
            error = "the file is empty";
            return false;
        }

        if (text.AsSpan().Trim("\0 \t\r\n").IsEmpty)
        {
            error = "the file holds only NUL bytes (typical after a power loss)";
            return false;
        }

        var offsets = new Dictionary<string, long>(StringComparer.Ordinal);
        var details = new Dictionary<string, FileDetails>(StringComparer.Ordinal);
        var lines = text.Split('\n');
        var section = Section.None;
        var sawHeader = false;
        var sawTrailer = false;
        var sawContent = false;
        var lastContentLine = -1;
        string? currentFile = null;
        int? fileIndent = null;

        for (var number = 0; number < lines.Length; number++)
        {
            var line = lines[number].TrimEnd('\r');
            var trimmed = line.TrimStart(' ');
            if (trimmed.Length == 0)
            {
                continue;
            }

            if (trimmed[0] == '#')
            {
                if (number == 0 && line is Header or HeaderV1)
                {
                    sawHeader = true;
                }
                else if (line == Trailer)
                {
                    sawTrailer = true;
                    lastContentLine = number;
                }

                continue;
            }

            lastContentLine = number;
            var indent = line.Length - trimmed.Length;
            var at = $"line {number + 1}";
            if (line.Contains('\t', StringComparison.Ordinal))
            {
                error = $"{at}: tab characters are not allowed in YAML indentation";
                return false;
            }

            if (!TryParseMapping(trimmed, out var key, out var value, out var mappingError))
            {
                error = $"{at}: {mappingError}";
                return false;
            }

            if (indent == 0)
            {
                section = key switch
                {
                    "positions" => Section.Positions,
                    "files" => Section.Files,
                    _ => Section.Unknown,
                };
                if (section == Section.Unknown)
                {
                    error = $"{at}: unknown top-level key '{key}' (expected 'positions' or 'files')";
                    return false;
                }

                if (value is not (null or "{}"))
                {
                    error = $"{at}: '{key}' must be a map";
                    return false;
                }

                sawContent = true;
                currentFile = null;
                fileIndent = null;
                continue;
            }

            switch (section)
            {
                case Section.Positions:
                    if (value is null)
                    {
                        error = $"{at}: position of '{key}' has no value";
                        return false;
                    }

                    // Promtail also stores journal cursors here; only numeric offsets are file positions.
                    if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
                    {
                        offsets[key] = offset;
                    }

                    break;
                case Section.Files:
                    fileIndent ??= indent;
                    if (indent == fileIndent)
                    {
                        if (value is not null)
                        {
                            error = $"{at}: file entry '{key}' must be a map";
                            return false;
                        }

                        currentFile = key;
                        details[key] = FileDetails.New;
                    }
                    else if (indent > fileIndent && currentFile is not null && value is not null)
                    {
                        if (!TryApplyField(details, currentFile, key, value, out var fieldError))
                        {
                            error = $"{at}: {fieldError}";
                            return false;
                        }
                    }
                    else
                    {
                        error = $"{at}: unexpected indentation";
                        return false;
                    }

                    break;
                default:
                    error = $"{at}: entry outside of 'positions' or 'files'";
                    return false;
            }
        }

        if (!sawContent)
        {
            error = "no 'positions' map";
            return false;
        }

        if (sawHeader && (!sawTrailer || lastContentLine < 0 || lines[lastContentLine].TrimEnd('\r') != Trailer))
        {
            error = $"the file is truncated (no '{Trailer}' line at the end)";
            return false;
        }

        foreach (var (path, offset) in offsets)
        {
            var found = details.TryGetValue(path, out var file);
            entries[path] = new PositionEntry(
                path,
                offset,
                found ? new FileIdentity(file.Device, file.Inode) : FileIdentity.None,
                found ? new FileFingerprint(file.Fingerprint, file.FingerprintBytes) : default,
                found ? file.Size : -1);
        }

        foreach (var (key, file) in details)
        {
            if (file.Target is null)
            {
                continue;
            }

            if (file.Offset < 0)
            {
                error = $"rotated file entry '{key}' has no offset";
                return false;
            }

            var entry = new PositionEntry(
                file.Target, file.Offset, new FileIdentity(file.Device, file.Inode), new FileFingerprint(file.Fingerprint, file.FingerprintBytes), file.Size, Rotated: true, file.SeenAt, file.ReadThrough);
            entries[entry.Key] = entry;
        }

        error = string.Empty;
        return true;
    }

    private static bool TryApplyField(Dictionary<string, FileDetails> details, string file, string key, string value, out string error)
    {
        var current = details[file];
        error = string.Empty;
        switch (key)
        {
            case "device" when ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var device):
                current.Device = device;
                break;
            case "inode" when ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var inode):
                current.Inode = inode;
                break;
            case "fingerprint" when ulong.TryParse(value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hash):
                current.Fingerprint = hash;
                break;
            case "fingerprint_bytes" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var length) && length <= FileFingerprint.Size:
                current.FingerprintBytes = length;
                break;
            case "offset" when long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var offset):
                current.Offset = offset;
                break;
            case "size" when long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var size):
                current.Size = size;
                break;
            case "target" when value.Length > 0:
                current.Target = value;
                break;
            case "path" when value.Length > 0:
                current.SeenAt = value;
                break;
            case "read" when value is "true" or "false":
                current.ReadThrough = value == "true";
                break;
            case "device" or "inode" or "fingerprint" or "fingerprint_bytes" or "offset" or "size" or "target" or "path" or "read":
                error = $"invalid value '{value}' for '{key}' of '{file}'";
                return false;
            default:
                // Unknown fields are tolerated, so a newer version's file can be read by an older one.
                break;
        }

        details[file] = current;
        return true;
    }

    /// <summary>Parses <c>key: value</c> or <c>key:</c> where each side is a plain, single- or double-quoted scalar.</summary>
    private static bool TryParseMapping(string text, out string key, out string? value, out string error)
    {
        value = null;
        var index = 0;
        if (!TryParseScalar(text, ref index, isKey: true, out key, out error))
        {
            return false;
        }

        if (index >= text.Length || text[index] != ':')
        {
            error = $"expected ':' after key '{key}'";
            return false;
        }

        index++;
        while (index < text.Length && text[index] == ' ')
        {
            index++;
        }

        if (index >= text.Length || text[index] == '#')
        {
            return true;
        }

        if (text.AsSpan(index).TrimEnd(' ').SequenceEqual("{}"))
        {
            value = "{}";
            return true;
        }

        if (!TryParseScalar(text, ref index, isKey: false, out var parsed, out error))
        {
            return false;
        }

        while (index < text.Length && text[index] == ' ')
        {
            index++;
        }

        if (index < text.Length && text[index] != '#')
        {
            error = $"unexpected text after the value of '{key}'";
            return false;
        }

        value = parsed;
        return true;
    }

    private static bool TryParseScalar(string text, ref int index, bool isKey, out string scalar, out string error)
    {
        error = string.Empty;
        scalar = string.Empty;
        if (index >= text.Length)
        {
            error = "missing scalar";
            return false;
        }

        var quote = text[index];
        if (quote is '"' or '\'')
        {
            var builder = new StringBuilder();
            for (var i = index + 1; i < text.Length; i++)
            {
                var c = text[i];
                if (c == quote)
                {
                    if (quote == '\'' && i + 1 < text.Length && text[i + 1] == '\'')
                    {
                        builder.Append('\'');
                        i++;
                        continue;
                    }

                    scalar = builder.ToString();
                    index = i + 1;
                    return true;
                }

                if (quote == '"' && c == '\\')
                {
                    if (!TryUnescape(text, ref i, builder))
                    {
                        error = $"invalid escape sequence in {text[index..]}";
                        return false;
                    }

                    continue;
                }

                if (c < ' ')
                {
                    error = "control character in a quoted scalar";
                    return false;
                }

                builder.Append(c);
            }

            error = "unterminated quoted scalar";
            return false;
        }

        // Plain scalar: a key ends at ": " or a final ':'; a value ends at " #" or the end of the line.
        var start = index;
        var end = start;
        while (end < text.Length)
        {
            var c = text[end];
            if (c < ' ' && c != '\t')
            {
                error = "control character in a plain scalar";
                return false;
            }

            if (isKey && c == ':' && (end + 1 == text.Length || text[end + 1] == ' '))
            {
                break;
            }

            if (!isKey && c == '#' && end > start && text[end - 1] == ' ')
            {
                break;
            }

            end++;
        }

        scalar = text[start..end].TrimEnd(' ');
        if (scalar.Length == 0)
        {
            error = "empty scalar";
            return false;
        }

        index = end;
        return true;
    }

    private static bool TryUnescape(string text, ref int i, StringBuilder builder)
    {
        if (i + 1 >= text.Length)
        {
            return false;
        }

        var c = text[++i];
        switch (c)
        {
            case '\\' or '"' or '/':
                builder.Append(c);
                return true;
            case 'n':
                builder.Append('\n');
                return true;
            case 't':
                builder.Append('\t');
                return true;
            case 'r':
                builder.Append('\r');
                return true;
            case '0':
                builder.Append('\0');
                return true;
            case 'x' or 'u' or 'U':
                var digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
                if (i + digits >= text.Length
                    || !int.TryParse(text.AsSpan(i + 1, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code)
                    || code > 0x10FFFF
                    || (code is >= 0xD800 and <= 0xDFFF))
                {
                    return false;
                }

                builder.Append(char.ConvertFromUtf32(code));
                i += digits;
                return true;
            default:
                return false;
        }
    }

    /// <summary>Appends a double-quoted scalar; with an identity, the key of a rotated entry (<c>path@device:inode</c>).</summary>
    private static void AppendQuoted(StringBuilder text, string value, PositionEntry? rotated = null)
    {
        text.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"':
                    text.Append("\\\"");
                    break;
                case '\\':
                    text.Append("\\\\");
                    break;
                case < ' ' or '\x7f':
                    text.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
                    break;
                default:
                    text.Append(c);
                    break;
            }
        }

        if (rotated is { } entry)
        {
            text.Append(CultureInfo.InvariantCulture, $"@{entry.Identity.Device}:{entry.Identity.Inode}#{entry.Fingerprint.Hash:x16}");
        }

        text.Append('"');
    }

    /// <summary>What <see cref="Load"/> found.</summary>
    /// <param name="Entries">The positions by <see cref="PositionEntry.Key"/>.</param>
    /// <param name="WasCorrupt">Whether the file was corrupt (and moved aside).</param>
    internal readonly record struct LoadResult(Dictionary<string, PositionEntry> Entries, bool WasCorrupt);

    private enum Section
    {
        None,
        Positions,
        Files,
        Unknown,
    }

    private struct FileDetails
    {
        public ulong Device;
        public ulong Inode;
        public ulong Fingerprint;
        public int FingerprintBytes;
        public long Offset;
        public long Size;
        public string? Target;
        public string? SeenAt;
        public bool ReadThrough;

        public static FileDetails New => new() { Offset = -1, Size = -1 };
    }
}
