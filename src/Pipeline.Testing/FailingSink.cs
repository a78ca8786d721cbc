using System.Threading.Channels;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Testing;

/// <summary>A sink whose loop throws when the first chunk arrives: a component failure, as a crashed client would be.</summary>
public sealed class FailingSink : ILogSink
{
    private readonly Func<Exception> _error;

    /// <summary>Creates the sink.</summary>
    /// <param name="error">Makes the exception to throw; an <see cref="InvalidOperationException"/> when <see langword="null"/>.</param>
    public FailingSink(Func<Exception>? error = null) =>
        _error = error ?? (() => new InvalidOperationException("FailingSink failed as the test asked."));

    /// <inheritdoc/>
    public async Task RunAsync(ChannelReader<EntryChunk> input, ComponentContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(context);
        if (await input.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            context.Metrics.AddErrors();
            throw _error();
        }
    }
}
