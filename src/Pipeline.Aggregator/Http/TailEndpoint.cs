using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Pipeline.Aggregator.LogQL;
using Pipeline.LogQL;
using Pipeline.Model;

namespace Pipeline.Aggregator.Http;

/// <summary>
/// <c>/loki/api/v1/tail</c> over a websocket, as Loki's querier answers it (and logcli <c>--tail</c> and Grafana's live
/// tail read it): first the newest <c>limit</c> entries since <c>start</c>, oldest of them first, then every newly stored
/// entry of the matching streams, filtered by the query's pipeline, as <c>{"streams":[...],"dropped_entries":…}</c> where
/// <c>dropped_entries</c> is <see langword="null"/> or the entries a slow session lost, <c>[{"labels":{…},"timestamp":"ns"}]</c>
/// (at most <see cref="TailSubscription.MaxDroppedEntries"/>). <c>delay_for</c> (seconds, at most 5, Loki's limit) holds
/// each batch that long and sends it with those stored meanwhile, in timestamp order.
/// </summary>
internal sealed class TailEndpoint
{
    private const int DefaultLimit = 100;

    /// <summary>Loki's largest <c>delay_for</c>, in seconds.</summary>
    private const int MaxDelayForSeconds = 5;
    private readonly LogQLEngine _engine;
    private readonly TailHub _hub;
    private readonly TenantResolver _tenants;
    private readonly QueryApi _api;
    private readonly LogQLEngineOptions _engineOptions;

    private readonly CancellationToken _stopping;

    public TailEndpoint(LogQLEngine engine, TailHub hub, TenantResolver tenants, QueryApi api, LogQLEngineOptions engineOptions, CancellationToken stopping)
    {
        _stopping = stopping;
        _engine = engine;
        _hub = hub;
        _tenants = tenants;
        _api = api;
        _engineOptions = engineOptions;
    }

    public async Task HandleAsync(HttpContext context)
    {
        if (!_tenants.TryResolve(context, out var tenant, out var status, out var error))
        {
            await QueryApi.WriteErrorAsync(context, status, error).ConfigureAwait(false);
            return;
        }

        if (!context.WebSockets.IsWebSocketRequest)
        {
            await QueryApi.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "tail needs a websocket connection").ConfigureAwait(false);
            return;
        }

        var now = _api.NowNs;
        var queryText = await QueryApi.ParamAsync(context, "query").ConfigureAwait(false) ?? string.Empty;
        LogQLQuery query;
        try
        {
            query = LogQLQuery.Parse(queryText);
            if (!query.IsLogQuery)
            {
                throw new LogQLException("tail needs a log query");
            }
        }
        catch (LogQLException ex)
        {
            await QueryApi.WriteErrorAsync(context, StatusCodes.Status400BadRequest, ex.Message).ConfigureAwait(false);
            return;
        }

        if (!QueryParameters.TryParseTime(await QueryApi.ParamAsync(context, "start").ConfigureAwait(false), now - 3_600_000_000_000, out var start, out error)
            || !QueryParameters.TryParseLimit(await QueryApi.ParamAsync(context, "limit").ConfigureAwait(false), DefaultLimit, out var limit, out error))
        {
            await QueryApi.WriteErrorAsync(context, StatusCodes.Status400BadRequest, error!).ConfigureAwait(false);
            return;
        }

        var delayText = await QueryApi.ParamAsync(context, "delay_for").ConfigureAwait(false);
        var delayFor = 0;
        if (!string.IsNullOrEmpty(delayText)
            && (!int.TryParse(delayText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out delayFor) || delayFor > MaxDelayForSeconds))
        {
            await QueryApi.WriteErrorAsync(context, StatusCodes.Status400BadRequest, delayFor > MaxDelayForSeconds ? $"delay_for can't be greater than {MaxDelayForSeconds}" : "invalid delay_for: " + delayText).ConfigureAwait(false);
            return;
        }

        // Subscribe before reading history so nothing stored in between is missed (it may come twice).
        using var subscription = _hub.Subscribe(tenant);
        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping);
        var aborted = linked.Token;
        var buffer = new ArrayBufferWriter<byte>();
        try
        {
            limit = Math.Min(limit, _engineOptions.MaxEntriesLimit);
            // Like Loki: the newest `limit` entries (read backward), sent oldest first.
            var history = (StreamsResult)_engine.QueryRange(tenant, query, start, now + 1, 0, limit, Direction.Backward, aborted);
            if (history.Streams.Count > 0)
            {
                await SendAsync(socket, buffer, Ascending(history), [], aborted).ConfigureAwait(false);
            }

            var receive = DrainAsync(socket, aborted);
            var reader = subscription.Batches.Reader;
            var batches = new List<TailBatch>();
            while (await WaitAsync(reader, receive, aborted).ConfigureAwait(false))
            {
                if (delayFor > 0)
                {
                    // Entries stored within the delay go out together, sorted, as Loki's delay_for lets late pushes catch up.
                    await Task.Delay(TimeSpan.FromSeconds(delayFor), _api.Time, aborted).ConfigureAwait(false);
                }

                batches.Clear();
                while (batches.Count < 64 && reader.TryRead(out var batch))
                {
                    batches.Add(batch);
                }

                var result = Filter(tenant, query, batches, aborted);
                var dropped = subscription.TakeDropped();
                if ((result is not null && result.Streams.Count > 0) || dropped.Count > 0)
                {
                    await SendAsync(socket, buffer, result, dropped, aborted).ConfigureAwait(false);
                }
            }
            // Answer the client's close (or close ourselves when the server stops) so the handshake completes.
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, string.Empty, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or LogQLException)
        {
            // The client went away or the server is stopping.
        }
    }

    private static async Task<bool> WaitAsync(System.Threading.Channels.ChannelReader<TailBatch> reader, Task receive, CancellationToken cancellationToken)
    {
        var wait = reader.WaitToReadAsync(cancellationToken).AsTask();
        var done = await Task.WhenAny(wait, receive).ConfigureAwait(false);
        return done == wait && await wait.ConfigureAwait(false);
    }

    /// <summary>Reads (and ignores) client messages until the client closes.</summary>
    private static async Task DrainAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[1024];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var result = await socket.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
        }
    }

    /// <summary>A backward log result (newest first) with each stream's entries oldest first.</summary>
    private static StreamsResult Ascending(StreamsResult result)
    {
        var streams = new List<StreamResult>(result.Streams.Count);
        foreach (var stream in result.Streams)
        {
            var entries = stream.Entries.ToArray();
            Array.Reverse(entries);
            streams.Add(stream with { Entries = entries });
        }

        return new StreamsResult(streams, result.Statistics);
    }

    /// <summary>Runs the query's pipeline over the pushed entries of matching streams.</summary>
    private StreamsResult? Filter(string tenant, LogQLQuery query, List<TailBatch> batches, CancellationToken cancellationToken)
    {
        var store = new InMemoryLogStore();
        long min = long.MaxValue, max = long.MinValue;
        foreach (var batch in batches)
        {
            foreach (var (labels, entries) in batch.Streams)
            {
                foreach (var (ts, line) in entries)
                {
                    store.Append(tenant, labels, ts, line);
                    min = Math.Min(min, ts);
                    max = Math.Max(max, ts);
                }
            }
        }

        return min > max ? null : (StreamsResult)new LogQLEngine(store, _engineOptions).QueryRange(tenant, query, min, max + 1, 0, _engineOptions.MaxEntriesLimit, Direction.Forward, cancellationToken);
    }

    private static async Task SendAsync(WebSocket socket, ArrayBufferWriter<byte> buffer, StreamsResult? result, List<(LabelSet Labels, long Timestamp)> dropped, CancellationToken cancellationToken)
    {
        buffer.ResetWrittenCount();
        WriteResponse(buffer, result, dropped);
        await socket.SendAsync(buffer.WrittenMemory, WebSocketMessageType.Text, endOfMessage: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One tail response in Loki's shape.</summary>
    internal static void WriteResponse(IBufferWriter<byte> buffer, StreamsResult? result, List<(LabelSet Labels, long Timestamp)> dropped)
    {
        using (var writer = new Utf8JsonWriter(buffer, LokiJson.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("streams"u8);
            if (result is null)
            {
                writer.WriteStartArray();
                writer.WriteEndArray();
            }
            else
            {
                LokiJson.WriteResult(writer, result);
            }

            writer.WritePropertyName("dropped_entries"u8);
            if (dropped.Count > 0)
            {
                // Loki's DroppedStream: the labels as an object and the timestamp as a string of nanoseconds.
                writer.WriteStartArray();
                foreach (var (labels, timestamp) in dropped)
                {
                    writer.WriteStartObject();
                    writer.WritePropertyName("labels"u8);
                    LokiJson.WriteLabels(writer, labels);
                    writer.WriteString("timestamp"u8, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }
            else
            {
                writer.WriteNullValue();
            }

            writer.WriteEndObject();
        }
    }
}
