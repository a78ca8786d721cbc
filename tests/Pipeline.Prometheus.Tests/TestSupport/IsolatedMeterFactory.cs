using System.Diagnostics.Metrics;

namespace Pipeline.Prometheus.Tests.TestSupport;

/// <summary>Creates meters tagged with a per-factory scope so that parallel tests' listeners can tell them apart.</summary>
internal sealed class IsolatedMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options.Name, options.Version, options.Tags, this);
        _meters.Add(meter);
        return meter;
    }

    public void Dispose()
    {
        foreach (var meter in _meters)
        {
            meter.Dispose();
        }
    }
}
