using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Pipeline.Aggregator.Distributor;

/// <summary>Loki's <c>loki_discarded_samples_total</c> and <c>loki_discarded_bytes_total</c>, by reason and tenant.</summary>
internal sealed class DiscardCounters : IDisposable
{
    /// <summary>The meter of the counters.</summary>
    public const string MeterName = "Pipeline.Aggregator";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _samples;
    private readonly Counter<long> _bytes;

    public DiscardCounters(IMeterFactory? meterFactory)
    {
        if (meterFactory is not null)
        {
            _meter = meterFactory.Create(MeterName);
        }
        else
        {
            _meter = new Meter(MeterName);
            _ownsMeter = true;
        }

        _samples = _meter.CreateCounter<long>("loki_discarded_samples_total", description: "The total number of samples that were discarded.");
        _bytes = _meter.CreateCounter<long>("loki_discarded_bytes_total", description: "The total number of bytes that were discarded.");
    }

    public void Add(string? tenant, string reason, long samples, long bytes)
    {
        var tags = new TagList { { "reason", reason }, { "tenant", tenant ?? string.Empty } };
        _samples.Add(samples, tags);
        _bytes.Add(bytes, tags);
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
