using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Model;
using Pipeline.Sources.Files;

namespace Pipeline.Tests.Sources.Files;

public sealed class FileDiscoveryTests : IDisposable
{
    private const string ContainerId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "discovery-" + Guid.NewGuid().ToString("N"));

    public FileDiscoveryTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("*.log", "a.log", true)]
    [InlineData("*.log", "a.txt", false)]
    [InlineData("?.log", "ab.log", false)]
    [InlineData("[0-9].log", "7.log", true)]
    [InlineData("[!0-9].log", "7.log", false)]
    [InlineData("a*b*c", "aXXbYYc", true)]
    [InlineData("a*b*c", "aXXbYY", false)]
    [InlineData("*", "", true)]
    public void MatchSegment_Wildcards(string pattern, string name, bool expected) => Assert.Equal(expected, GlobPattern.MatchSegment(pattern, name));

    [Theory]
    [InlineData("/var/log/**/*.log", "/var/log/a.log", true)]
    [InlineData("/var/log/**/*.log", "/var/log/pods/x/y/0.log", true)]
    [InlineData("/var/log/**/*.log", "/var/lib/a.log", false)]
    [InlineData("/var/log/{pods,containers}/**/*.log", "/var/log/containers/a.log", true)]
    [InlineData("/var/log/{pods,containers}/**/*.log", "/var/log/other/a.log", false)]
    [InlineData("/var/log/**", "/var/log/x/y", true)]
    public void IsMatch_DoubleStarAndBraces(string pattern, string path, bool expected) => Assert.Equal(expected, GlobPattern.Parse(pattern).IsMatch(path));

    [Theory]
    [InlineData("0.log", false)]
    [InlineData("0.log.20261126-100000", true)]
    [InlineData("0.log.20261126-100000.gz", true)]
    [InlineData("app.log.1", true)]
    [InlineData("abc-json.log", false)]
    [InlineData("app.gz", true)]
    public void IsRotated_RecognisesRotatedNames(string name, bool expected) => Assert.Equal(expected, FileDiscovery.IsRotated(name));

    [Fact]
    public void Scan_KubeletLayout_LabelsNamespacePodContainerAndUid()
    {
        var file = Write("var/log/pods/prod_api-7d9f_4a1b-22/api/0.log");
        Write("var/log/pods/prod_api-7d9f_4a1b-22/api/0.log.20261126-100000");
        Write("var/log/pods/prod_api-7d9f_4a1b-22/api/0.log.20261126-090000.gz");

        var found = Discovery(Path.Combine(_root, "var/log/pods/*/*/*.log*")).Scan();

        var target = Assert.Single(found);
        Assert.Equal(file, target.Path);
        Assert.Equal(file, target.Labels["filename"]);
        Assert.Equal("prod", target.Labels["namespace"]);
        Assert.Equal("api-7d9f", target.Labels["pod"]);
        Assert.Equal("api", target.Labels["container"]);
        Assert.Equal("4a1b-22", target.Labels[FileDiscovery.PodUidLabel]);
        Assert.Equal("agent", target.Labels["job"]);
    }

    [Fact]
    public void Scan_ContainersSymlinkAndTarget_ReadOnceFromTarget()
    {
        var target = Write("var/log/pods/prod_api_uid1/api/0.log");
        var link = Path.Combine(_root, "var/log/containers", $"api_prod_api-{ContainerId}.log");
        Directory.CreateDirectory(Path.GetDirectoryName(link)!);
        File.CreateSymbolicLink(link, target);

        var found = Discovery(Path.Combine(_root, "var/log/**/*.log")).Scan();

        var only = Assert.Single(found);
        Assert.Equal(target, only.Path);
    }

    [Fact]
    public void Scan_ContainersSymlinkOnly_LabelsFromResolvedTarget()
    {
        var target = Write("var/log/pods/prod_api_uid1/api/0.log");
        var link = Path.Combine(_root, "var/log/containers", $"api_prod_api-{ContainerId}.log");
        Directory.CreateDirectory(Path.GetDirectoryName(link)!);
        File.CreateSymbolicLink(link, target);

        var only = Assert.Single(Discovery(Path.Combine(_root, "var/log/containers/*.log")).Scan());

        Assert.Equal(link, only.Labels["filename"]);
        Assert.Equal("uid1", only.Labels[FileDiscovery.PodUidLabel]);
        Assert.Equal("prod", only.Labels["namespace"]);
        Assert.Equal(ContainerId, only.Labels[FileDiscovery.ContainerIdLabel]);
    }

    [Fact]
    public void Scan_DockerLayout_LabelsContainerId()
    {
        var file = Write($"var/lib/docker/containers/{ContainerId}/{ContainerId}-json.log");

        var only = Assert.Single(Discovery(Path.Combine(_root, "var/lib/docker/containers/*/*-json.log")).Scan());

        Assert.Equal(file, only.Path);
        Assert.Equal(ContainerId, only.Labels[FileDiscovery.ContainerIdLabel]);
    }

    [Fact]
    public void Scan_Exclude_RemovesMatches()
    {
        Write("logs/keep.log");
        Write("logs/skip/noisy.log");

        var found = Discovery(Path.Combine(_root, "logs/**/*.log"), Path.Combine(_root, "logs/skip/**")).Scan();

        Assert.Equal([Path.Combine(_root, "logs/keep.log")], found.Select(f => f.Path));
    }

    [Fact]
    public void Scan_NewFileAppears_FoundOnNextScan()
    {
        var discovery = Discovery(Path.Combine(_root, "logs/*.log"));
        Assert.Empty(discovery.Scan());

        Write("logs/new.log");

        Assert.Single(discovery.Scan());
    }

    [Fact]
    public void TryStat_HardLinkSymlinkAndRename_KeepIdentity()
    {
        var file = Write("a.log");
        var hard = Path.Combine(_root, "hard.log");
        Assert.Equal(0, Run("ln", file, hard));
        var soft = Path.Combine(_root, "soft.log");
        File.CreateSymbolicLink(soft, file);

        Assert.True(FileStat.TryStat(file, out var original));
        Assert.True(FileStat.TryStat(hard, out var viaHard));
        Assert.True(FileStat.TryStat(soft, out var viaSoft));
        Assert.Equal(original.Identity, viaHard.Identity);
        Assert.Equal(original.Identity, viaSoft.Identity);
        Assert.Equal(2u, original.Links);
        Assert.Equal(5, original.Size);

        var moved = Path.Combine(_root, "moved.log");
        File.Move(file, moved);
        Assert.True(FileStat.TryStat(moved, out var afterRename));
        Assert.Equal(original.Identity, afterRename.Identity);
        Assert.False(FileStat.TryStat(file, out _));

        Assert.True(FileStat.TryStat(Write("other.log"), out var other));
        Assert.NotEqual(original.Identity, other.Identity);
    }

    [Fact]
    public void TryStat_InodeAgreesWithStatCommand()
    {
        var file = Write("inode.log");
        Assert.True(FileStat.TryStat(file, out var status));

        var psi = new ProcessStartInfo("stat", ["-c", "%i", file]) { RedirectStandardOutput = true };
        using var process = Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();

        Assert.Equal(output, status.Identity.Inode.ToString());
    }

    [Fact]
    public void TryStat_OpenHandleOfDeletedFile_HasNoLinks()
    {
        var file = Write("deleted.log");
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        Assert.True(FileStat.TryStat(file, out var before));
        File.Delete(file);

        Assert.True(FileStat.TryStat(stream.SafeFileHandle, file, out var after));
        Assert.Equal(before.Identity, after.Identity);
        Assert.Equal(0u, after.Links);
    }

    private FileDiscovery Discovery(string include, string? exclude = null) =>
        new([include], exclude is null ? [] : [exclude], includeRotated: false, LabelSet.Create(new Label("job", "agent")), NullLogger.Instance);

    private string Write(string relative)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "line\n");
        return path;
    }

    private static int Run(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args))!;
        process.WaitForExit();
        return process.ExitCode;
    }
}
