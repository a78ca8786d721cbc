using Pipeline.Model;
using Pipeline.Sources.Files;

namespace Pipeline.Tests.Sources.Files;

public sealed class TargetLineageTests
{
    private static readonly FileIdentity s_inode = new(2049, 11);

    [Fact]
    public void IsSeen_InodeOfReadGenerationReusedByNewFile_NotSeen()
    {
        // app.log.1 was read and let go, then compressed and deleted; the next copy got its inode (ext4 reuses freed
        // inodes at once). The new copy is a new generation, not the one already read.
        var lineage = new TargetLineage("/var/log/app.log", "/var/log/app.log", LabelSet.Empty);
        var old = "old content of the first generation, long enough to fingerprint it..."u8;
        var read = new RotatedFile("/var/log/app.log.1", s_inode, 1000, 1, Compressed: false, "1");
        lineage.MarkSeen(s_inode, FileFingerprint.Of(old), read);
        Assert.True(lineage.IsSeen(read));

        var reused = read with { Size = 2000, ModifiedNs = 2 };
        Assert.Null(lineage.IsSeen(reused));
        Assert.False(lineage.ConfirmSeen(reused, "new content of the next generation, just as long to fingerprint..."u8));
        Assert.False(lineage.IsSeen(reused));
    }

    [Fact]
    public void IsSeen_SameGenerationChangedStat_ConfirmedByFirstBytes()
    {
        // A renamed file the runtime still wrote one more line to: the same generation, still seen.
        var lineage = new TargetLineage("/var/log/app.log", "/var/log/app.log", LabelSet.Empty);
        var head = "first bytes of the generation, long enough to fingerprint it well..."u8;
        var seen = new RotatedFile("/var/log/app.log.1", s_inode, 1000, 1, Compressed: false, "1");
        lineage.MarkSeen(s_inode, FileFingerprint.Of(head), seen);

        var grown = seen with { Size = 1100, ModifiedNs = 2 };
        Assert.Null(lineage.IsSeen(grown));
        Assert.True(lineage.ConfirmSeen(grown, head));
        Assert.True(lineage.IsSeen(grown));
    }

    [Fact]
    public void IsSeen_EmptyWhenSeenThenWritten_NotSeen()
    {
        // A copy found while the rotator had not written it yet: once it holds bytes it is decided by them.
        var lineage = new TargetLineage("/var/log/app.log", "/var/log/app.log", LabelSet.Empty);
        var empty = new RotatedFile("/var/log/app.log.1", s_inode, 0, 1, Compressed: false, "1");
        lineage.MarkSeen(s_inode, FileFingerprint.Empty, empty);

        var written = empty with { Size = 4096, ModifiedNs = 2 };
        Assert.Null(lineage.IsSeen(written));
        Assert.False(lineage.ConfirmSeen(written, "lines the rotator copied after the scan found the file empty......"u8));
    }
}
