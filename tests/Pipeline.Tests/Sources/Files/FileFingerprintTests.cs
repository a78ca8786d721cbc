using Pipeline.Sources.Files;

namespace Pipeline.Tests.Sources.Files;

public sealed class FileFingerprintTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fingerprint-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void ReadHead_NameTakenByTheNextGenerationSinceTheListing_Moved()
    {
        // A rotation between the listing and the read: app.log.2.gz is renamed to .3.gz and the next compressed copy
        // takes the name. The head under the name is not the listed file's.
        var path = Path.Combine(_directory, "app.log.2");
        File.WriteAllText(path, "the listed generation's first line, long enough for a fingerprint\n");
        Assert.True(FileStat.TryStat(path, out var listed));
        File.Move(path, Path.Combine(_directory, "app.log.3"));
        File.WriteAllText(path, "the next generation's first line, just as long for a fingerprint.\n");
        var head = new byte[FileFingerprint.Size];

        Assert.Equal(FileFingerprint.Moved, FileFingerprint.ReadHead(path, compressed: false, listed.Identity, head));
        Assert.True(FileStat.TryStat(path, out var now));
        Assert.Equal(FileFingerprint.Size, FileFingerprint.ReadHead(path, compressed: false, now.Identity, head));
    }
}
