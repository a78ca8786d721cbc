using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Pipeline.Loki.Protocol;

namespace Pipeline.RotationTorture;

/// <summary>
/// A Loki push endpoint on 127.0.0.1 that decodes pushes with Pipeline.Loki's decoder and counts every line's id
/// (<c>&lt;pod&gt;:&lt;id&gt;</c>): what arrived, how often, and how large a batch got. It can answer 500 to play an outage.
/// </summary>
internal sealed class IdReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly int[][] _counts;
    private readonly Lock _lock = new();
    private TaskCompletionSource _pushed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _unique;
    private long _duplicates;
    private int _maxBatch;
    private long _failed;
    private long _malformed;

    private IdReceiver(WebApplication app, int pods, int linesPerPod)
    {
        _app = app;
        _counts = [.. Enumerable.Range(0, pods).Select(_ => new int[linesPerPod + 1])];
    }

    /// <summary>Answer every push with 500 (an outage) while set.</summary>
    public bool Failing { get; set; }

    public Uri PushUrl => new(new Uri(_app.Urls.First()), "/loki/api/v1/push");

    /// <summary>Distinct ids received.</summary>
    public long Unique => Interlocked.Read(ref _unique);

    /// <summary>Receptions of an id already received.</summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>The most lines one accepted push held.</summary>
    public int MaxBatch => Volatile.Read(ref _maxBatch);

    /// <summary>Pushes answered with 500.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Lines that did not carry an id of the expected range (should stay 0).</summary>
    public long Malformed => Interlocked.Read(ref _malformed);

    public static async Task<IdReceiver> StartAsync(int pods, int linesPerPod)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.Limits.MaxRequestBodySize = 64 * 1024 * 1024;
        });
        var receiver = new IdReceiver(builder.Build(), pods, linesPerPod);
        receiver._app.MapPost("/loki/api/v1/push", (Delegate)receiver.HandleAsync);
        await receiver._app.StartAsync().ConfigureAwait(false);
        return receiver;
    }

    /// <summary>Waits until <paramref name="unique"/> distinct ids arrived, or <paramref name="timeout"/> passed.</summary>
    /// <returns>Whether they all arrived.</returns>
    public async Task<bool> WaitForUniqueAsync(long unique, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (Unique < unique)
        {
            var pushed = Volatile.Read(ref _pushed).Task;
            if (Unique >= unique)
            {
                break;
            }

            try
            {
                await pushed.WaitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The ids never received, as <c>pod:id</c> (at most <paramref name="limit"/>).</summary>
    public List<string> Missing(int limit)
    {
        var missing = new List<string>();
        lock (_lock)
        {
            for (var pod = 0; pod < _counts.Length && missing.Count < limit; pod++)
            {
                for (var id = 1; id < _counts[pod].Length && missing.Count < limit; id++)
                {
                    if (_counts[pod][id] == 0)
                    {
                        missing.Add($"{pod}:{id}");
                    }
                }
            }
        }

        return missing;
    }

    /// <summary>The ids received other than once, as ranges per pod (<c>pod0 missing 16401-24600</c>, <c>pod1 x2 100-200</c>), for the journal.</summary>
    public List<string> Anomalies()
    {
        var ranges = new List<string>();
        lock (_lock)
        {
            for (var pod = 0; pod < _counts.Length; pod++)
            {
                var counts = _counts[pod];
                var start = 1;
                for (var id = 2; id <= counts.Length; id++)
                {
                    if (id < counts.Length && counts[id] == counts[start])
                    {
                        continue;
                    }

                    if (counts[start] != 1)
                    {
                        var what = counts[start] == 0 ? "missing" : $"x{counts[start]}";
                        ranges.Add($"pod{pod} {what} {start}-{id - 1} ({id - start} ids)");
                    }

                    start = id;
                }
            }
        }

        return ranges;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private async Task<IResult> HandleAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted).ConfigureAwait(false);
        if (Failing)
        {
            Interlocked.Increment(ref _failed);
            return Results.StatusCode(StatusCodes.Status500InternalServerError);
        }

        if (!PushRequestDecoder.TryDecode(body.ToArray(), context.Request.ContentType, context.Request.Headers.ContentEncoding, out var push, out var error))
        {
            return Results.BadRequest(error);
        }

        using (push)
        {
            lock (_lock)
            {
                foreach (var stream in push.Streams)
                {
                    foreach (var entry in stream.Entries)
                    {
                        Count(entry.Line.Span);
                    }
                }

                if (push.EntryCount > _maxBatch)
                {
                    Volatile.Write(ref _maxBatch, push.EntryCount);
                }
            }
        }

        Interlocked.Exchange(ref _pushed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        return Results.NoContent();
    }

    private void Count(ReadOnlySpan<byte> line)
    {
        var colon = line.IndexOf((byte)':');
        var space = line.IndexOf((byte)' ');
        if (colon <= 0 || space <= colon
            || !int.TryParse(line[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out var pod)
            || !int.TryParse(line[(colon + 1)..space], NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            || pod >= _counts.Length || id <= 0 || id >= _counts[pod].Length)
        {
            Interlocked.Increment(ref _malformed);
            return;
        }

        if (_counts[pod][id]++ == 0)
        {
            Interlocked.Increment(ref _unique);
        }
        else
        {
            Interlocked.Increment(ref _duplicates);
        }
    }
}
