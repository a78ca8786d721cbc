using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Model;

namespace Pipeline.Runtime;

/// <summary>Settings of a <see cref="LogPipeline"/>; checked when the pipeline is built.</summary>
public sealed class PipelineOptions
{
    /// <summary>The default pipeline name.</summary>
    public const string DefaultName = "default";

    /// <summary>The default capacity, in chunks, of every channel between task components.</summary>
    public const int DefaultChannelCapacity = 8;

    /// <summary>The default time <see cref="LogPipeline.DisposeAsync"/> waits for a graceful drain before aborting.</summary>
    public static readonly TimeSpan DefaultShutdownTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The pipeline's name (the <c>pipeline</c> tag of its metrics).</summary>
    public string Name { get; set; } = DefaultName;

    /// <summary>Capacity in chunks of each bounded channel; writers wait when it is full (backpressure).</summary>
    public int ChannelCapacity { get; set; } = DefaultChannelCapacity;

    /// <summary>The pool chunks are rented from (its capacity sets entries per chunk).</summary>
    public EntryChunkPool ChunkPool { get; set; } = EntryChunkPool.Shared;

    /// <summary>The clock for every timer in the pipeline.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where the pipeline and its components log.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>Creates the pipeline's <see cref="Meter"/>; when <see langword="null"/> the pipeline creates and owns its own.</summary>
    public IMeterFactory? MeterFactory { get; set; }

    /// <summary>How long <see cref="LogPipeline.DisposeAsync"/> waits for a graceful drain before aborting.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = DefaultShutdownTimeout;

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name))
        {
            throw new ArgumentException("PipelineOptions.Name must not be empty.", nameof(Name));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(ChannelCapacity, 1, nameof(ChannelCapacity));
        ArgumentNullException.ThrowIfNull(ChunkPool, nameof(ChunkPool));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        ArgumentNullException.ThrowIfNull(LoggerFactory, nameof(LoggerFactory));
        ArgumentOutOfRangeException.ThrowIfLessThan(ShutdownTimeout, TimeSpan.Zero, nameof(ShutdownTimeout));
    }
}
