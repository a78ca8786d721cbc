using System.Text;
using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Sources.Files;

namespace Pipeline.Benchmarks.Sources.Files;

/// <summary>
/// Tails a 256 MiB page-cached file (~120-byte CRI lines) from its start through a real pipeline into a sink that
/// only counts and acknowledges. Throughput = 256 MiB / mean time; allocations per line = Allocated / <see cref="Lines"/>.
/// </summary>
[MemoryDiagnoser]
public class FileTailBenchmarks
{
    private const long TotalBytes = 256L * 1024 * 1024;
    private string _directory = string.Empty;

    /// <summary>The number of lines in the file (printed in the setup log).</summary>
    public static int Lines { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "tail-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        var path = Path.Combine(_directory, "0.log");
        var lines = 0;
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 20))
        {
            var random = new Random(42);
            long written = 0;
            while (written < TotalBytes)
            {
                var line = Encoding.UTF8.GetBytes(
                    $"2026-11-26T10:00:{lines % 60:D2}.{lines:D9}Z stdout F level=info msg=\"request served\" path=/api/v1/items/{random.Next(100000)} status=200 duration={random.Next(1000)}ms\n");
                stream.Write(line);
                written += line.Length;
                lines++;
            }
        }

        Lines = lines;

        // Warm the page cache.
        using var read = File.OpenRead(path);
        read.CopyTo(Stream.Null);
        Console.WriteLine($"// FileTailBenchmarks: {lines} lines, {new FileInfo(path).Length} bytes");
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_directory, recursive: true);

    [Benchmark]
    public async Task<long> TailWholeFile()
    {
        var options = new FileTailOptions { UseFileSystemWatcher = false };
        options.Include.Add(Path.Combine(_directory, "*.log"));
        var sink = new CountingSink(Lines);
        await using var pipeline = LogPipeline.Create().From(new FileTailSource(options), "files").To(sink, "count").Build();
        await pipeline.StartAsync();
        await sink.Done.WaitAsync(TimeSpan.FromMinutes(2));
        await pipeline.StopAsync();
        return sink.Bytes;
    }

    private sealed class CountingSink(int expected) : ILogSink
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _count;

        public Task Done => _done.Task;

        public long Bytes { get; private set; }

        public async Task RunAsync(ChannelReader<EntryChunk> input, ComponentContext context, CancellationToken cancellationToken)
        {
            while (await input.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (input.TryRead(out var chunk))
                {
                    foreach (var entry in chunk.Entries)
                    {
                        Bytes += entry.LineLength;
                        entry.Ack.Acknowledge();
                    }

                    _count += chunk.Count;
                    chunk.Release();
                    if (_count >= expected)
                    {
                        _done.TrySetResult();
                    }
                }
            }
        }
    }
}
