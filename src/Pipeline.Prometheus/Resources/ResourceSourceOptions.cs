namespace Pipeline.Prometheus.Resources;

/// <summary>Options of <see cref="ResourceSource"/>. Paths are configurable so tests can point at a fake tree.</summary>
public sealed class ResourceSourceOptions
{
    /// <summary>The default of <see cref="MinScanInterval"/>.</summary>
    public static readonly TimeSpan DefaultMinScanInterval = TimeSpan.FromSeconds(1);

    /// <summary>The cgroup v2 mount; pods are looked for under <c>kubepods.slice</c> (systemd driver) or <c>kubepods</c> (cgroupfs driver).</summary>
    public string CgroupRoot { get; set; } = "/sys/fs/cgroup";

    /// <summary>kubelet's pod log directory: <c>&lt;namespace&gt;_&lt;pod&gt;_&lt;uid&gt;/&lt;container&gt;/</c> names pods and containers.</summary>
    public string PodLogRoot { get; set; } = "/var/log/pods";

    /// <summary>kubelet's container log links: <c>&lt;pod&gt;_&lt;namespace&gt;_&lt;container&gt;-&lt;id&gt;.log</c> maps container IDs to names.</summary>
    public string ContainerLogRoot { get; set; } = "/var/log/containers";

    /// <summary>The node's <c>/proc/stat</c>; <see langword="null"/> to skip node CPU.</summary>
    public string? ProcStatPath { get; set; } = "/proc/stat";

    /// <summary>The node's <c>/proc/meminfo</c>; <see langword="null"/> to skip node memory.</summary>
    public string? MemInfoPath { get; set; } = "/proc/meminfo";

    /// <summary>Clock ticks per second of <c>/proc/stat</c> (USER_HZ, 100 on Linux).</summary>
    public int ClockTicksPerSecond { get; set; } = 100;

    /// <summary>Observable instruments reuse a scan younger than this, so one scrape reads the tree once.</summary>
    public TimeSpan MinScanInterval { get; set; } = DefaultMinScanInterval;

    /// <summary>The clock for <see cref="MinScanInterval"/>; defaults to <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; set; }
}
