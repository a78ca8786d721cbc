using System.Globalization;
using System.IO.Compression;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Sources.Files;
using Pipeline.Testing;

namespace Pipeline.Tests.Sources.Files;

/// <summary>
/// Rotation across restarts, copytruncate and outages: every generation of a target is read to its end exactly once,
/// from wherever it went (renamed, copied, compressed), and only a file deleted outright before it was read is lost.
/// </summary>
public sealed class FileTailSourceRotationTests : FileTailTestBase
{
    private const string KubeletPattern = "var/log/pods/*/*/*.log";

    public FileTailSourceRotationTests() => Directory.CreateDirectory(PodDirectory);

    private string PodDirectory => Path.Combine(Root, "var/log/pods/ns_pod_uid/c");

    private string Current => Path.Combine(PodDirectory, "0.log");

    [Fact]
    public async Task Restart_FileRenamedWhileDown_RestOfRotatedFileThenNewFile()
    {
        var options = Options(KubeletPattern);
        await StopHalfwayAsync(options, Current, acknowledged: 1000, read: 1500);
        Rotate(Current, "20261126-100100");
        WriteNumbers(Current, 1501, 2000);

        await using var run = await StartAsync(options);

        await AssertReadsAsync(run, 1001, 2000);
    }

    [Fact]
    public async Task Restart_FileRenamedAndGzippedWhileDown_RestReadFromCompressedFile()
    {
        var options = Options(KubeletPattern);
        await StopHalfwayAsync(options, Current, acknowledged: 1000, read: 1500);
        var rotated = Rotate(Current, "20261126-100100");
        WriteNumbers(Current, 1501, 2000);
        var newer = Rotate(Current, "20261126-100200");
        GzipLikeKubelet(rotated);
        WriteNumbers(Current, 2001, 2100);

        await using var run = await StartAsync(options);

        await AssertReadsAsync(run, 1001, 2100);
        Assert.False(File.Exists(rotated));
        Assert.True(File.Exists(rotated + ".gz"));
        Assert.True(File.Exists(newer));
    }

    [Fact]
    public async Task Restart_RotatedTwiceWhileDown_BothGenerationsReadOldestFirst()
    {
        var options = Options(KubeletPattern);
        await StopHalfwayAsync(options, Current, acknowledged: 1000, read: 1500);
        var first = Rotate(Current, "20261126-100100");
        WriteNumbers(Current, 1501, 2000);
        Rotate(Current, "20261126-100200");
        WriteNumbers(Current, 2001, 2500);
        Rotate(Current, "20261126-100300");
        GzipLikeKubelet(first);
        GzipLikeKubelet(Path.Combine(PodDirectory, "0.log.20261126-100200"));
        WriteNumbers(Current, 2501, 2600);

        await using var run = await StartAsync(options);

        // The rest of the half-read file, both generations rotated while down (one only compressed), then the new file.
        await AssertReadsAsync(run, 1001, 2600);
    }

    [Fact]
    public async Task Restart_FullyReadRotatedFiles_NotReadAgain()
    {
        var options = Options(KubeletPattern);
        await StopHalfwayAsync(options, Current, acknowledged: 1000, read: 1000);
        var read = Rotate(Current, "20261126-100100");
        WriteNumbers(Current, 1001, 1500);
        Rotate(Current, "20261126-100200");
        GzipLikeKubelet(read);
        WriteNumbers(Current, 1501, 2000);

        await using var run = await StartAsync(options);

        await AssertReadsAsync(run, 1001, 2000);
    }

    [Fact]
    public async Task Restart_CopyTruncatedWhileDown_RestReadFromCopyBeforeTruncatedFile()
    {
        var file = Path.Combine(Root, "app.log");
        var options = Options("*.log");
        await StopHalfwayAsync(options, file, acknowledged: 1000, read: 1500);
        CopyTruncate(file, file + ".1");
        WriteNumbers(file, 1501, 2000);

        await using var run = await StartAsync(options);

        await AssertReadsAsync(run, 1001, 2000);
    }

    [Fact]
    public async Task Restart_CopyTruncatedTwiceWhileDownAfterStopOnEmptyFile_BothCopiesRead()
    {
        // Stopped right after a copytruncate: the file is empty (nothing to fingerprint) and keeps its inode. While
        // down it is written and copytruncated again: the previous copy is compressed (delaycompress), the new one
        // holds lines never read. The stored generation read before the empty file tells the new copy from the old.
        var file = Path.Combine(Root, "app.log");
        var options = Options("*.log");
        WriteNumbers(file, 1, 1000);
        await using (var first = await StartAsync(options))
        {
            await first.WaitForCountAsync(1000);
            CopyTruncate(file, file + ".1");
            await WaitForPositionsAsync(first.Source, text => text.Contains($"\"{file}\": \"0\"\n", StringComparison.Ordinal) && text.Contains("fingerprint_bytes: 0\n", StringComparison.Ordinal));
        }

        Logs.Collector.Clear();
        WriteNumbers(file, 1001, 1500);
        Gzip(file + ".1");
        File.Move(file + ".1.gz", file + ".2.gz");
        CopyTruncate(file, file + ".1");
        WriteNumbers(file, 1501, 1600);

        await using var run = await StartAsync(options);

        await AssertReadsAsync(run, 1001, 1600);
    }

    [Fact]
    public async Task Restart_StoredEmptyFileWhoseInodeNowHoldsANewFile_GenerationRotatedWhileDownRead()
    {
        // The file was empty when last stored; while down it was written, rotated and compressed, and the new file at
        // the path got the freed inode. Its identity matches, but an empty fingerprint proves nothing: the rotated
        // generation is read, then the new file.
        var rotated = Path.Combine(PodDirectory, "0.log.20261126-100100");
        WriteNumbers(rotated, 1, 1000);
        GzipLikeKubelet(rotated);
        WriteNumbers(Current, 1001, 1100);
        Assert.True(FileStat.TryStat(Current, out var status));
        new PositionsFile(PositionsPath, Time, NullLogger.Instance).Save([new PositionEntry(Current, 0, status.Identity, FileFingerprint.Empty, Size: 0)]);

        await using var run = await StartAsync(Options(KubeletPattern));

        await AssertReadsAsync(run, 1, 1100);
    }

    [Fact]
    public async Task Restart_InodeOfStoredFileReusedByUnrelatedFile_NotResumedAtStoredOffset()
    {
        var unrelated = Path.Combine(PodDirectory, "0.log.20261126-090000");
        WriteNumbers(unrelated, 5001, 5100);
        WriteNumbers(Current, 1, 100);
        Assert.True(FileStat.TryStat(unrelated, out var status));
        var stale = new FileFingerprint(FileFingerprint.Compute("an older file's first bytes, long gone............................"u8), 64);
        new PositionsFile(PositionsPath, Time, NullLogger.Instance).Save([new PositionEntry(Current, 500, status.Identity, stale, Size: 2000)]);

        await using var run = await StartAsync(Options(KubeletPattern));
        var entries = await run.WaitForCountAsync(200);
        await run.Source.PollAsync();
        await run.Source.PollAsync();

        // The file holding the stored inode is not the stored file: it is read whole, not from offset 500.
        var numbers = run.Sink.Lines.Select(Number).ToList();
        Assert.Equal([.. Enumerable.Range(5001, 100), .. Enumerable.Range(1, 100)], numbers);
        Assert.Equal(1500, run.Source.LostBytes);
    }

    [Fact]
    public async Task Restart_OwnPositionsFromBeforeRotatedEntries_RenamedFileResumed()
    {
        WriteNumbers(Current, 1, 1000);
        Assert.True(FileStat.TryStat(Current, out var status));
        FileFingerprint fingerprint;
        using (var handle = File.OpenHandle(Current))
        {
            fingerprint = FileFingerprint.Read(handle);
        }

        var offset = Bytes(1, 500);
        File.WriteAllText(PositionsPath, $"""
            {PositionsFile.HeaderV1}
            positions:
              "{Current}": "{offset}"
            files:
              "{Current}":
                device: {status.Identity.Device}
                inode: {status.Identity.Inode}
                fingerprint: "{fingerprint.Hash:x16}"
                fingerprint_bytes: {fingerprint.Length}
                offset: {offset}
            {PositionsFile.Trailer}

            """);
        Rotate(Current, "20261126-100100");
        WriteNumbers(Current, 1001, 1200);

        await using var run = await StartAsync(Options(KubeletPattern));

        await AssertReadsAsync(run, 501, 1000, 1001, 1200);
        await WaitForPositionsAsync(run.Source, text => text.StartsWith(PositionsFile.Header, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Restart_PromtailPositions_ResumedAtOffsetAndRotatedFilesLeftAlone()
    {
        WriteNumbers(Path.Combine(PodDirectory, "0.log.20261126-090000"), 9001, 9100);
        WriteNumbers(Current, 1, 1000);
        File.WriteAllText(PositionsPath, $"positions:\n  {Current}: \"{Bytes(1, 500)}\"\n");

        await using var run = await StartAsync(Options(KubeletPattern));

        await AssertReadsAsync(run, 501, 1000);
    }

    [Fact]
    public async Task Restart_StoredFileDeletedOutrightWhileDown_CountedAndLoggedAsDeletedBeforeRead()
    {
        var options = Options(KubeletPattern);
        await StopHalfwayAsync(options, Current, acknowledged: 1000, read: 1500);
        var rotated = Rotate(Current, "20261126-100100");
        File.Delete(rotated);
        WriteNumbers(Current, 1501, 1600);

        await using var run = await StartAsync(options, beforeStart: pipeline => Metrics = new MetricsCapture(pipeline.Meter));

        await AssertReadsAsync(run, 1501, 1600);
        Assert.Equal(Bytes(1001, 1500), run.Source.LostBytes);
        Assert.Equal(1, run.Source.LostFiles);
        // Nothing was read of the target in this run, so the lines it held are not estimated: at least one.
        Assert.Equal(1, Metrics!.Dropped("files", FileTailSource.DeletedBeforeRead));
        Assert.Contains($"{Current} (", LogText, StringComparison.Ordinal);
        Assert.Contains($"{Bytes(1001, 1500)} bytes after offset {Bytes(1, 1000)} are lost", LogText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restart_StoredCompressedGenerationDeletedWhileDown_CountedAndLoggedAsDeletedBeforeRead()
    {
        // A compressed generation resumed but not acknowledged when the agent stopped, then deleted by the node while
        // it was down: its length comes from its gzip trailer, so what it took with it is counted, not passed over.
        var options = Options(KubeletPattern);
        await StopHalfwayAsync(options, Current, acknowledged: 1000, read: 1500);
        var rotated = Rotate(Current, "20261126-100100");
        GzipLikeKubelet(rotated);
        WriteNumbers(Current, 1501, 1600);
        await using (var second = await StartAsync(options, autoAcknowledge: false))
        {
            await second.WaitForCountAsync(600);
        }

        File.Delete(rotated + ".gz");
        Logs.Collector.Clear();

        await using var run = await StartAsync(options);

        await AssertReadsAsync(run, 1501, 1600);
        Assert.Equal(Bytes(1001, 1500), run.Source.LostBytes);
        Assert.Contains($"{Bytes(1001, 1500)} bytes after offset {Bytes(1, 1000)} are lost", LogText, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(200, false)]
    [InlineData(3000, false)]
    [InlineData(200, true)]
    public async Task CopyTruncate_ReaderBehind_RestReadFromCopyThenFileFromStart(int writtenAfter, bool compressCopy)
    {
        // logrotate's copytruncate while the agent is behind: the lines it had not read yet are only in the copy.
        // Fewer lines after the truncation leave the file shorter than the position; more regrow it past the
        // position, and only its first bytes tell it changed.
        var file = Path.Combine(Root, "app.log");
        WriteNumbers(file, 1, 1000);
        await using var run = await StartAsync(Options("*.log"));
        await run.WaitForCountAsync(1000);

        WriteNumbers(file, 1001, 1500);
        CopyTruncate(file, file + ".1");
        if (compressCopy)
        {
            Gzip(file + ".1");
        }

        WriteNumbers(file, 1501, 1500 + writtenAfter);
        var entries = await run.WaitForCountAsync(1500 + writtenAfter);

        AssertExactlyOnce(entries.Select(e => e.Line), 1500 + writtenAfter, LogText);
        Assert.Equal(Enumerable.Range(1, 1500 + writtenAfter), entries.Select(e => Number(e.Line)));
    }

    [Fact]
    public async Task CopyTruncate_WriterKeepsWriting_NothingLost()
    {
        // A normal writer (O_APPEND) keeps writing through copy and truncation: every line is read exactly once.
        var file = Path.Combine(Root, "app.log");
        File.WriteAllText(file, string.Empty);
        const int total = 6000;
        await using var run = await StartAsync(Options("*.log"));
        var writer = Task.Run(async () =>
        {
            using var stream = OpenAppend(file);
            for (var n = 1; n <= total; n++)
            {
                stream.Write(Encoding.UTF8.GetBytes($"line {n}\n"));
                if (n % 1000 == 0)
                {
                    // The agent may be anywhere behind; nothing is written between the copy and the truncation.
                    await run.Sink.WaitForCountAsync(n - 900, WaitLimit);
                    File.Copy(file, $"{file}.{n / 1000}");
                    stream.SetLength(0);
                }
            }
        });

        var entries = await run.WaitForCountAsync(total, writer);

        AssertExactlyOnce(entries.Select(e => e.Line), total, LogText);
    }

    [Fact]
    public async Task Outage_GenerationsRotateAndCompressWhileDownstreamIsBlocked_EveryLineOnceAfterRecovery()
    {
        using var gate = new GatedSink();
        var options = Options(KubeletPattern);
        const int perGeneration = 3000;
        WriteNumbers(Current, 1, perGeneration);
        await using var run = await StartAsync(options, gate: gate);
        await run.FirstScan.WaitAsync(WaitLimit);

        // Downstream takes nothing: the source stops reading once the channel is full, but keeps scanning.
        string? previous = null;
        for (var generation = 1; generation <= 4; generation++)
        {
            var rotated = Rotate(Current, $"20261126-1{generation:D2}000");
            WriteNumbers(Current, (generation * perGeneration) + 1, (generation + 1) * perGeneration);
            if (previous is not null)
            {
                // The kubelet compresses all but the newest rotated file; the plain one is deleted.
                GzipLikeKubelet(previous);
            }

            previous = rotated;
            var scanned = run.Source.NextScan;
            Time.Advance(options.ScanInterval);
            await scanned.WaitAsync(WaitLimit);
        }

        // The oldest compressed files go too (as the kubelet keeps at most five): the agent holds what it has not read.
        foreach (var compressed in Directory.GetFiles(PodDirectory, "*.gz").Order(StringComparer.Ordinal).Take(2))
        {
            File.Delete(compressed);
        }

        gate.Open();
        var entries = await run.WaitForCountAsync(5 * perGeneration);


        AssertExactlyOnce(entries.Select(e => e.Line), 5 * perGeneration, LogText);
        Assert.Equal(0, run.Source.LostFiles);
    }

    private MetricsCapture? Metrics { get; set; }

    /// <summary>A first run that reads <paramref name="read"/> lines and stops with only the first <paramref name="acknowledged"/> acknowledged.</summary>
    private async Task StopHalfwayAsync(FileTailOptions options, string file, int acknowledged, int read)
    {
        WriteNumbers(file, 1, acknowledged);
        var first = await StartAsync(options, autoAcknowledge: false);
        await first.WaitForCountAsync(acknowledged);
        first.Sink.AcknowledgePending();
        await WaitForPositionsAsync(first.Source, text => text.Contains($"offset: {Bytes(1, acknowledged)}\n", StringComparison.Ordinal));
        if (read > acknowledged)
        {
            WriteNumbers(file, acknowledged + 1, read);
            await first.WaitForCountAsync(read);
        }

        await first.DisposeAsync();
        Logs.Collector.Clear();
    }

    /// <summary>Waits for the lines numbered in the given ranges, then checks that exactly those arrived, in order.</summary>
    private static async Task AssertReadsAsync(TailRun run, params int[] ranges)
    {
        var expected = new List<int>();
        for (var i = 0; i < ranges.Length; i += 2)
        {
            expected.AddRange(Enumerable.Range(ranges[i], ranges[i + 1] - ranges[i] + 1));
        }

        await run.WaitForCountAsync(expected.Count);
        await run.Source.PollAsync();
        await run.Source.PollAsync();
        Assert.Equal(expected, run.Sink.Lines.Select(Number));
    }

    private static string Rotate(string file, string suffix)
    {
        var rotated = $"{file}.{suffix}";
        File.Move(file, rotated);
        return rotated;
    }

    /// <summary>Compresses as the kubelet does: into <c>.gz.tmp</c>, renamed to <c>.gz</c>, then the plain file deleted.</summary>
    private static void GzipLikeKubelet(string path)
    {
        using (var input = File.OpenRead(path))
        using (var output = new GZipStream(File.Create(path + ".gz.tmp"), CompressionLevel.Fastest))
        {
            input.CopyTo(output);
        }

        File.Move(path + ".gz.tmp", path + ".gz");
        File.Delete(path);
    }

    private static void CopyTruncate(string file, string copy)
    {
        File.Copy(file, copy);
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        stream.SetLength(0);
    }

    private static long Bytes(int from, int to)
    {
        long total = 0;
        for (var n = from; n <= to; n++)
        {
            total += "line ".Length + n.ToString(CultureInfo.InvariantCulture).Length + 1;
        }

        return total;
    }
}
