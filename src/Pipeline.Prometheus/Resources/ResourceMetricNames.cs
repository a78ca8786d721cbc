namespace Pipeline.Prometheus.Resources;

/// <summary>The metric names <see cref="ResourceSource"/> produces: cAdvisor's for containers, node_exporter's for the node.</summary>
public static class ResourceMetricNames
{
    /// <summary>cgroup <c>cpu.stat</c> <c>usage_usec</c>, in seconds (counter).</summary>
    public const string CpuUsage = "container_cpu_usage_seconds_total";

    /// <summary>cgroup <c>cpu.stat</c> <c>user_usec</c>, in seconds (counter).</summary>
    public const string CpuUser = "container_cpu_user_seconds_total";

    /// <summary>cgroup <c>cpu.stat</c> <c>system_usec</c>, in seconds (counter).</summary>
    public const string CpuSystem = "container_cpu_system_seconds_total";

    /// <summary><c>memory.current</c> minus <c>memory.stat</c> <c>inactive_file</c> (gauge, bytes).</summary>
    public const string MemoryWorkingSet = "container_memory_working_set_bytes";

    /// <summary><c>memory.current</c> (gauge, bytes).</summary>
    public const string MemoryUsage = "container_memory_usage_bytes";

    /// <summary><c>memory.stat</c> <c>anon</c> (gauge, bytes).</summary>
    public const string MemoryRss = "container_memory_rss";

    /// <summary><c>memory.stat</c> <c>file</c> (gauge, bytes).</summary>
    public const string MemoryCache = "container_memory_cache";

    /// <summary><c>io.stat</c> <c>rbytes</c> per device (counter).</summary>
    public const string FsReadsBytes = "container_fs_reads_bytes_total";

    /// <summary><c>io.stat</c> <c>wbytes</c> per device (counter).</summary>
    public const string FsWritesBytes = "container_fs_writes_bytes_total";

    /// <summary><c>pids.current</c>: tasks (threads) in the cgroup (gauge).</summary>
    public const string Threads = "container_threads";

    /// <summary><c>/proc/stat</c> per CPU and mode, in seconds (counter), labels <c>cpu</c> and <c>mode</c>.</summary>
    public const string NodeCpuSeconds = "node_cpu_seconds_total";

    /// <summary>Prefix of the <c>/proc/meminfo</c> gauges: <c>node_memory_&lt;Field&gt;_bytes</c>.</summary>
    public const string NodeMemoryPrefix = "node_memory_";
}
