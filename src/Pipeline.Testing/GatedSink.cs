using System.Threading.Channels;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Testing;

/// <summary>
/// A slow sink: it takes a chunk only when the test lets it (<see cref="Allow"/>), so upstream channels fill up
/// and backpressure can be observed. Entries it takes are collected and acknowledged.
/// </summary>
public sealed class GatedSink : ILogSink, IDisposable
{
    private readonly SemaphoreSlim _gate = new(0);

    /// <summary>The entries taken so far.</summary>
    public CollectingSink Collected { get; } = new();

    /// <summary>Lets the sink take <paramref name="chunks"/> more chunks.</summary>
    /// <param name="chunks">How many.</param>
    public void Allow(int chunks = 1) => _gate.Release(chunks);

    /// <summary>Lets the sink take everything from now on.</summary>
    public void Open() => _gate.Release(int.MaxValue / 2);

    /// <inheritdoc/>
    public void Dispose() => _gate.Dispose();

    /// <inheritdoc/>
    public async Task RunAsync(ChannelReader<EntryChunk> input, ComponentContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var forward = Channel.CreateUnbounded<EntryChunk>();
        var collecting = Collected.RunAsync(forward.Reader, context, cancellationToken);
        try
        {
            while (await input.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                if (input.TryRead(out var chunk))
                {
                    forward.Writer.TryWrite(chunk);
                }
            }
        }
        finally
        {
            forward.Writer.TryComplete();
            await collecting.ConfigureAwait(false);
        }
    }
}
