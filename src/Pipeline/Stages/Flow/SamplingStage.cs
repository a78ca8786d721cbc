using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Stages.Flow;

/// <summary>Promtail's <c>sampling</c> stage: keeps each entry with probability <c>rate</c> and drops (and counts) the rest.</summary>
public sealed class SamplingStage : ILogStage
{
    private readonly Random _random;
    private readonly ulong _threshold;
    private readonly string _reason;

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">The rate is not between 0.0 and 1.0.</exception>
    public SamplingStage(SamplingStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (double.IsNaN(options.Rate) || options.Rate < 0.0 || options.Rate > 1.0)
        {
            throw new StageOptionsException("sampling", "rate", options.Rate, "a fraction from 0.0 to 1.0");
        }

        // As Promtail: keep when a random 63-bit number is at most rate * (2^63 - 1).
        _threshold = (ulong)(options.Rate * long.MaxValue);
        _random = options.Seed is { } seed ? new Random(seed) : new Random();
        _reason = string.IsNullOrEmpty(options.DropCounterReason) ? SamplingStageOptions.DefaultDropCounterReason : options.DropCounterReason;
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public SamplingStageOptions Options { get; }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        if (Options.Rate >= 1.0)
        {
            return StageResult.Keep;
        }

#pragma warning disable CA5394 // Sampling needs speed and optional reproducibility, not unpredictability.
        var draw = (ulong)_random.NextInt64(long.MaxValue);
#pragma warning restore CA5394
        return draw < _threshold ? StageResult.Keep : StageResult.Drop(_reason);
    }
}
