using System.Globalization;
using System.Threading.Channels;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Samples.Agent;

/// <summary>Prints every entry with its labels instead of pushing it (Promtail's <c>--dry-run</c>), and acknowledges it.</summary>
internal sealed class DryRunSink(TextWriter output) : ILogSink
{
    public async Task RunAsync(ChannelReader<EntryChunk> input, ComponentContext context, CancellationToken cancellationToken)
    {
        while (await input.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (input.TryRead(out var chunk))
            {
                var text = new System.Text.StringBuilder();
                foreach (var entry in chunk.Entries)
                {
                    var time = DateTimeOffset.FromUnixTimeMilliseconds(entry.Timestamp / 1_000_000).ToString("O", CultureInfo.InvariantCulture);
                    var metadata = entry.Metadata.Count == 0 ? string.Empty : " " + Format(entry.Metadata);
                    text.Append(time).Append('\t').Append(entry.Labels.WithoutInternal()).Append(metadata).Append('\t').Append(entry.GetLineString()).Append('\n');
                }

                await output.WriteAsync(text, cancellationToken).ConfigureAwait(false);

                chunk.AcknowledgeAll();
                context.Metrics.AddSent(chunk.Count);
                chunk.Release();
            }

            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static string Format(LogFields fields)
    {
        var parts = new string[fields.Count];
        for (var i = 0; i < fields.Count; i++)
        {
            parts[i] = $"{fields.NameAt(i)}={System.Text.Encoding.UTF8.GetString(fields.ValueAt(i))}";
        }

        return "[" + string.Join(' ', parts) + "]";
    }
}
