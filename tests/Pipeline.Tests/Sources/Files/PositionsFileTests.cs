using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Sources.Files;

namespace Pipeline.Tests.Sources.Files;

public sealed class PositionsFileTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "positions-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero));
    private readonly FakeLogger _logger = new();

    public PositionsFileTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Format_ThenParse_RoundTripsPathsIdentitiesAndFingerprints()
    {
        PositionEntry[] entries =
        [
            new("/var/log/pods/default_api-7d9_0f1e/api/0.log", 123456789012, new FileIdentity(2049, 393219), new FileFingerprint(0x0123456789abcdef, 64)),
            new("/tmp/odd \"quoted\": path\\with\tcontrol #hash", 0, new FileIdentity(1, 2), new FileFingerprint(42, 3)),
            new("/tmp/ünïcode.log", 7, FileIdentity.None, default),
        ];

        var text = PositionsFile.Format(entries);
        Assert.True(PositionsFile.TryParse(text, out var parsed, out var error), error);

        Assert.Equal(3, parsed.Count);
        foreach (var entry in entries)
        {
            Assert.Equal(entry, parsed[entry.Path]);
        }
    }

    [Fact]
    public void Format_ThenParse_TwoRotatedGenerationsOnOneReusedInode_BothKept()
    {
        // logrotate deletes app.log.1 (compressed to .2.gz) and copies the file to a new app.log.1, which ext4 gives
        // the freed inode: the generation still settling and the new copy share an identity, not their first bytes.
        PositionEntry[] entries =
        [
            new("/var/log/app.log", 0, new FileIdentity(2049, 11), default, Size: 0),
            new("/var/log/app.log", 54290, new FileIdentity(2049, 12), new FileFingerprint(7, 64), Size: 1048720, Rotated: true, SeenAt: "/var/log/app.log.2.gz"),
            new("/var/log/app.log", 786335, new FileIdentity(2049, 12), new FileFingerprint(8, 64), Size: 1048720, Rotated: true, SeenAt: "/var/log/app.log.1"),
            new("/var/log/app.log", 1048720, new FileIdentity(2049, 13), new FileFingerprint(9, 64), Size: 1048720, Rotated: true, SeenAt: "/var/log/app.log.3.gz", ReadThrough: true),
        ];

        var text = PositionsFile.Format(entries);
        Assert.True(PositionsFile.TryParse(text, out var parsed, out var error), error);

        Assert.Equal(4, parsed.Count);
        foreach (var entry in entries)
        {
            Assert.Equal(entry, parsed[entry.Key]);
        }
    }

    [Fact]
    public void Format_ThenParse_RoundTripsRotatedGenerationsBesideTheCurrentFile()
    {
        PositionEntry[] entries =
        [
            new("/var/log/pods/ns_p_u/c/0.log", 120, new FileIdentity(2049, 11), new FileFingerprint(7, 64), Size: 500),
            new("/var/log/pods/ns_p_u/c/0.log", 4000, new FileIdentity(2049, 10), new FileFingerprint(8, 64), Size: 9000, Rotated: true, SeenAt: "/var/log/pods/ns_p_u/c/0.log.20261126-100000"),
            new("/var/log/pods/ns_p_u/c/0.log", 77, new FileIdentity(2049, 9), new FileFingerprint(9, 64), Size: 100, Rotated: true),
        ];

        var text = PositionsFile.Format(entries);
        Assert.True(PositionsFile.TryParse(text, out var parsed, out var error), error);

        Assert.Equal(3, parsed.Count);
        foreach (var entry in entries)
        {
            Assert.Equal(entry, parsed[entry.Key]);
        }

        // Promtail's map holds only the current file: the one Promtail would tail at that path.
        Assert.Contains("positions:\n  \"/var/log/pods/ns_p_u/c/0.log\": \"120\"\nfiles:", text);
    }

    [Fact]
    public void TryParse_OwnFileBeforeRotatedEntries_Loads()
    {
        var v1 = $"""
            {PositionsFile.HeaderV1}
            positions:
              "/var/log/a.log": "10"
            files:
              "/var/log/a.log":
                device: 5
                inode: 6
                fingerprint: "000000000000002a"
                fingerprint_bytes: 64
                offset: 10
            {PositionsFile.Trailer}

            """;

        Assert.True(PositionsFile.TryParse(v1, out var parsed, out var error), error);

        var entry = Assert.Single(parsed.Values);
        Assert.Equal(new PositionEntry("/var/log/a.log", 10, new FileIdentity(5, 6), new FileFingerprint(42, 64)), entry);
    }

    [Fact]
    public void TryParse_RotatedEntryWithoutOffset_FailsNamingIt()
    {
        var text = "files:\n  \"/a@1:2\":\n    target: \"/a\"\n    device: 1\n    inode: 2\n";

        Assert.False(PositionsFile.TryParse(text, out _, out var error));
        Assert.Contains("'/a@1:2' has no offset", error);
    }

    [Fact]
    public void Format_IsPromtailShaped()
    {
        var text = PositionsFile.Format([new("/var/log/a.log", 10, new FileIdentity(5, 6), new FileFingerprint(1, 64))]);

        Assert.Contains("positions:\n  \"/var/log/a.log\": \"10\"\n", text);
        Assert.StartsWith(PositionsFile.Header + "\n", text);
        Assert.EndsWith(PositionsFile.Trailer + "\n", text);
    }

    [Fact]
    public void TryParse_PromtailFile_ReadsOffsetsWithoutIdentity()
    {
        const string promtail = """
            positions:
              /var/log/pods/ns_pod_uid/c/0.log: "1234"
              '/var/log/it''s.log': "5"
              journal-c0ffee: "s=abc;i=1"
            """;

        Assert.True(PositionsFile.TryParse(promtail, out var parsed, out var error), error);

        Assert.Equal(2, parsed.Count);
        Assert.Equal(1234, parsed["/var/log/pods/ns_pod_uid/c/0.log"].Offset);
        Assert.False(parsed["/var/log/pods/ns_pod_uid/c/0.log"].Identity.IsKnown);
        Assert.Equal(5, parsed["/var/log/it's.log"].Offset);
    }

    [Fact]
    public void TryParse_EmptyMaps_AreValid()
    {
        Assert.True(PositionsFile.TryParse(PositionsFile.Format([]), out var parsed, out var error), error);
        Assert.Empty(parsed);
        Assert.True(PositionsFile.TryParse("positions: {}\n", out parsed, out error), error);
        Assert.Empty(parsed);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("  \n\n", "empty")]
    [InlineData("\0\0\0\0\0\0\0\0", "NUL")]
    [InlineData("positions:\n  \"/a.log\": \"12", "unterminated")]
    [InlineData("positions:\n  \"/a.log\"  \"12\"", "expected ':'")]
    [InlineData("garbage", "expected ':'")]
    [InlineData("other: {}", "unknown top-level key 'other'")]
    [InlineData("positions: 12", "must be a map")]
    [InlineData("files:\n  \"/a\": 1", "must be a map")]
    [InlineData("files:\n  \"/a\":\n    inode: x", "invalid value 'x' for 'inode'")]
    [InlineData("positions:\n  \"/a\": \"1\"\0\0\0\0", "unexpected text")]
    [InlineData("positions:\n  \"/a\": \"1\"\n\0\0\0\0", "control character")]
    [InlineData("# Pipeline file tail positions v1 (Promtail-compatible `positions`; `files` adds identities)\npositions:\n  \"/a\": \"1\"\n", "truncated")]
    public void TryParse_Corrupt_FailsWithReason(string text, string reason)
    {
        Assert.False(PositionsFile.TryParse(text, out _, out var error));
        Assert.Contains(reason, error);
    }

    [Fact]
    public void Save_ThenLoad_RoundTripsAtomically()
    {
        var path = Path.Combine(_directory, "sub", "positions.yaml");
        var file = new PositionsFile(path, _time, _logger);
        PositionEntry entry = new("/var/log/x.log", 99, new FileIdentity(3, 4), new FileFingerprint(5, 64));

        Assert.True(file.Save([entry]));
        Assert.True(file.Save([entry with { Offset = 100 }]));
        var loaded = file.Load();

        Assert.False(loaded.WasCorrupt);
        Assert.Equal(100, loaded.Entries["/var/log/x.log"].Offset);
        Assert.Equal(["positions.yaml"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
    }

    [Fact]
    public void Load_Missing_IsFirstStartNotCorrupt()
    {
        var loaded = new PositionsFile(Path.Combine(_directory, "none.yaml"), _time, _logger).Load();

        Assert.False(loaded.WasCorrupt);
        Assert.Empty(loaded.Entries);
        Assert.Empty(_logger.Collector.GetSnapshot());
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]
    [InlineData(new byte[] { (byte)'p', (byte)'o', (byte)'s', (byte)'i' })]
    public void Load_CorruptOrEmpty_WarnsNamingFileAndMovesAside(byte[] content)
    {
        var path = Path.Combine(_directory, "positions.yaml");
        File.WriteAllBytes(path, content);

        var loaded = new PositionsFile(path, _time, _logger).Load();

        Assert.True(loaded.WasCorrupt);
        Assert.Empty(loaded.Entries);
        Assert.False(File.Exists(path));
        var aside = path + ".corrupt-20261126T100000Z";
        Assert.Equal(content, File.ReadAllBytes(aside));
        var warning = Assert.Single(_logger.Collector.GetSnapshot());
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains(path, warning.Message);
        Assert.Contains(aside, warning.Message);
    }

    [Fact]
    public void Load_TruncatedOwnFile_IsCorrupt()
    {
        var path = Path.Combine(_directory, "positions.yaml");
        var full = PositionsFile.Format([new("/var/log/a.log", 10, new FileIdentity(5, 6), new FileFingerprint(1, 64))]);
        File.WriteAllText(path, full[..(full.IndexOf("offset", StringComparison.Ordinal) + 6)], Encoding.UTF8);

        var loaded = new PositionsFile(path, _time, _logger).Load();

        Assert.True(loaded.WasCorrupt);
    }

    [Fact]
    public void Save_Unwritable_ReturnsFalseAndWarns()
    {
        var blocker = Path.Combine(_directory, "not-a-directory");
        File.WriteAllText(blocker, "x");
        var file = new PositionsFile(Path.Combine(blocker, "positions.yaml"), _time, _logger);

        Assert.False(file.Save([new("/a", 1, FileIdentity.None, default)]));
        Assert.Equal(LogLevel.Warning, Assert.Single(_logger.Collector.GetSnapshot()).Level);
    }
}
