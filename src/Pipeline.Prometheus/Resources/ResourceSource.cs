using System.Diagnostics.Metrics;

namespace Pipeline.Prometheus.Resources;

/// <summary>
/// cAdvisor's role on a node: reads cgroup v2 files of Kubernetes pods and containers (<c>cpu.stat</c>,
/// <c>memory.current</c>, <c>memory.stat</c>, <c>io.stat</c>, <c>pids.current</c>) and the node's <c>/proc/stat</c>
/// and <c>/proc/meminfo</c>, and publishes them as observable instruments on <see cref="Meter"/> (meter name
/// <see cref="MeterName"/>) with cAdvisor's names and labels (<c>namespace</c>, <c>pod</c>, <c>container</c>, <c>id</c>),
/// or as samples through <see cref="Read"/>. A missing, unreadable or unparsable file is skipped and counted
/// (<see cref="SkippedFiles"/> and the <c>pipeline.resources.skipped</c> counter, tag <c>file</c>), never fatal.
/// </summary>
public sealed class ResourceSource : IDisposable
{
    /// <summary>The name of the meter the instruments are on.</summary>
    public const string MeterName = "Pipeline.Resources";

    private static readonly (string Name, bool IsCounter, string? Unit, string Help)[] s_containerMetrics =
    [
        (ResourceMetricNames.CpuUsage, true, "s", "Cumulative cpu time consumed in seconds."),
        (ResourceMetricNames.CpuUser, true, "s", "Cumulative user cpu time consumed in seconds."),
        (ResourceMetricNames.CpuSystem, true, "s", "Cumulative system cpu time consumed in seconds."),
        (ResourceMetricNames.MemoryWorkingSet, false, "By", "Current working set in bytes."),
        (ResourceMetricNames.MemoryUsage, false, "By", "Current memory usage in bytes, including all memory regardless of when it was accessed."),
        (ResourceMetricNames.MemoryRss, false, null, "Size of RSS in bytes."),
        (ResourceMetricNames.MemoryCache, false, null, "Number of bytes of page cache memory."),
        (ResourceMetricNames.FsReadsBytes, true, null, "Cumulative count of bytes read."),
        (ResourceMetricNames.FsWritesBytes, true, null, "Cumulative count of bytes written."),
        (ResourceMetricNames.Threads, false, null, "Number of threads running inside the container."),
        (ResourceMetricNames.NodeCpuSeconds, true, "s", "Seconds the CPUs spent in each mode."),
    ];

    private readonly ResourceSourceOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly CgroupScanner _cgroups;
    private readonly NodeReader _node;
    private readonly Counter<long> _skippedCounter;
    private readonly Lock _gate = new();
    private readonly bool _ownsMeter;
    private Dictionary<string, List<Measurement<double>>> _byName = new(StringComparer.Ordinal);
    private long _lastScan = long.MinValue;
    private long _skipped;

    /// <summary>Creates the source and its instruments.</summary>
    /// <param name="options">Paths and timing; <see langword="null"/> for the defaults (the real node).</param>
    /// <param name="meterFactory">Creates the meter; <see langword="null"/> to create and own one.</param>
    /// <exception cref="ArgumentException">A path option is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="ResourceSourceOptions.ClockTicksPerSecond"/> is less than 1 or <see cref="ResourceSourceOptions.MinScanInterval"/> is negative.</exception>
    public ResourceSource(ResourceSourceOptions? options = null, IMeterFactory? meterFactory = null)
    {
        _options = options ?? new ResourceSourceOptions();
        ArgumentException.ThrowIfNullOrWhiteSpace(_options.CgroupRoot, "ResourceSourceOptions.CgroupRoot");
        ArgumentException.ThrowIfNullOrWhiteSpace(_options.PodLogRoot, "ResourceSourceOptions.PodLogRoot");
        ArgumentException.ThrowIfNullOrWhiteSpace(_options.ContainerLogRoot, "ResourceSourceOptions.ContainerLogRoot");
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.ClockTicksPerSecond, 1, "ResourceSourceOptions.ClockTicksPerSecond");
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MinScanInterval, TimeSpan.Zero, "ResourceSourceOptions.MinScanInterval");
        _timeProvider = _options.TimeProvider ?? TimeProvider.System;
        _cgroups = new CgroupScanner(_options);
        _node = new NodeReader(_options);
        if (meterFactory is not null)
        {
            Meter = meterFactory.Create(MeterName);
        }
        else
        {
            Meter = new Meter(MeterName);
            _ownsMeter = true;
        }

        _skippedCounter = Meter.CreateCounter<long>("pipeline.resources.skipped", "{file}", "Resource files skipped because they were missing, unreadable or unparsable.");
        foreach (var (name, isCounter, unit, help) in s_containerMetrics)
        {
            CreateInstrument(name, isCounter, unit, help);
        }

        // node_memory_* names depend on the kernel's meminfo fields: learn them once.
        var initial = Read();
        foreach (var name in initial.Where(s => s.Name.StartsWith(ResourceMetricNames.NodeMemoryPrefix, StringComparison.Ordinal)).Select(s => s.Name).Distinct())
        {
            CreateInstrument(name, false, null, "Memory information field from /proc/meminfo.");
        }
    }

    /// <summary>The meter holding the observable instruments.</summary>
    public Meter Meter { get; }

    /// <summary>How many files were skipped so far (missing, unreadable or unparsable).</summary>
    public long SkippedFiles => Interlocked.Read(ref _skipped);

    /// <summary>Reads every cgroup and node file now.</summary>
    /// <returns>The samples, containers first, then the node.</returns>
    public IReadOnlyList<ResourceSample> Read()
    {
        var samples = new List<ResourceSample>();
        _cgroups.Scan(samples, Skip);
        _node.Read(samples, Skip);
        return samples;
    }

    /// <summary>Disposes the meter if this source created it.</summary>
    public void Dispose()
    {
        if (_ownsMeter)
        {
            Meter.Dispose();
        }
    }

    private void CreateInstrument(string name, bool isCounter, string? unit, string help)
    {
        if (isCounter)
        {
            Meter.CreateObservableCounter(name, () => Observe(name), unit, help);
        }
        else
        {
            Meter.CreateObservableGauge(name, () => Observe(name), unit, help);
        }
    }

    private List<Measurement<double>> Observe(string name)
    {
        lock (_gate)
        {
            var now = _timeProvider.GetTimestamp();
            if (_lastScan == long.MinValue || _timeProvider.GetElapsedTime(_lastScan, now) >= _options.MinScanInterval)
            {
                var byName = new Dictionary<string, List<Measurement<double>>>(StringComparer.Ordinal);
                foreach (var sample in Read())
                {
                    if (!byName.TryGetValue(sample.Name, out var list))
                    {
                        list = [];
                        byName[sample.Name] = list;
                    }

                    var tags = new KeyValuePair<string, object?>[sample.Labels.Count];
                    for (var i = 0; i < tags.Length; i++)
                    {
                        tags[i] = new(sample.Labels[i].Key, sample.Labels[i].Value);
                    }

                    list.Add(new Measurement<double>(sample.Value, tags));
                }

                _byName = byName;
                _lastScan = now;
            }

            return _byName.TryGetValue(name, out var measurements) ? measurements : [];
        }
    }

    private void Skip(string path)
    {
        Interlocked.Increment(ref _skipped);
        _skippedCounter.Add(1, new KeyValuePair<string, object?>("file", Path.GetFileName(path)));
    }
}
