using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Prometheus.Exposition;
using Pipeline.Prometheus.Resources;
using Pipeline.Prometheus.Tests.Exposition;
using Pipeline.Prometheus.Tests.TestSupport;

namespace Pipeline.Prometheus.Tests.Resources;

public sealed class ResourceSourceTests : IDisposable
{
    internal const string PodUid = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
    internal const string ContainerId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private const string SidecarPodUid = "9f0c1d2e-0000-4000-8000-000000000001";
    private const string MainId = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string SidecarId = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    internal static readonly string ContainerCgroup =
        $"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{PodUid.Replace('-', '_')}.slice/cri-containerd-{ContainerId}.scope";

    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public void Read_BurstablePod_ProducesCadvisorNamedSamples()
    {
        BuildTree(_root);
        using var source = new ResourceSource(Options(_root));

        var samples = source.Read();

        var id = "/" + ContainerCgroup;
        Assert.Equal(2.5, Value(samples, ResourceMetricNames.CpuUsage, id), 9);
        Assert.Equal(1.5, Value(samples, ResourceMetricNames.CpuUser, id), 9);
        Assert.Equal(1.0, Value(samples, ResourceMetricNames.CpuSystem, id), 9);
        Assert.Equal(104857600, Value(samples, ResourceMetricNames.MemoryUsage, id));
        Assert.Equal(104857600 - 20971520, Value(samples, ResourceMetricNames.MemoryWorkingSet, id));
        Assert.Equal(52428800, Value(samples, ResourceMetricNames.MemoryRss, id));
        Assert.Equal(41943040, Value(samples, ResourceMetricNames.MemoryCache, id));
        Assert.Equal(4096 + 0, Value(samples, ResourceMetricNames.FsReadsBytes, id, "8:0"));
        Assert.Equal(8192, Value(samples, ResourceMetricNames.FsWritesBytes, id, "8:0"));
        Assert.Equal(100, Value(samples, ResourceMetricNames.FsReadsBytes, id, "259:0"));
        Assert.Equal(7, Value(samples, ResourceMetricNames.Threads, id));

        var cpu = samples.Single(s => s.Name == ResourceMetricNames.CpuUsage && Label(s, "id") == id);
        Assert.True(cpu.IsCounter);
        Assert.Equal(["container", "id", "namespace", "pod"], cpu.Labels.Select(l => l.Key));
        Assert.Equal("app", Label(cpu, "container"));
        Assert.Equal("prod", Label(cpu, "namespace"));
        Assert.Equal("api-7d9f", Label(cpu, "pod"));
        Assert.Equal(0, source.SkippedFiles);
    }

    [Fact]
    public void Read_PodCgroupItself_HasEmptyContainerLabel()
    {
        BuildTree(_root);
        using var source = new ResourceSource(Options(_root));

        var samples = source.Read();

        var podLevel = samples.Single(s => s.Name == ResourceMetricNames.CpuUsage && Label(s, "pod") == "api-7d9f" && Label(s, "container").Length == 0);
        Assert.Equal(3.0, podLevel.Value, 9);
    }

    [Fact]
    public void Read_TwoContainersInPod_NamesComeFromContainerLogLinks()
    {
        BuildTree(_root);
        using var source = new ResourceSource(Options(_root));

        var samples = source.Read();

        var rss = samples.Where(s => s.Name == ResourceMetricNames.MemoryRss && Label(s, "pod") == "web-0").ToDictionary(s => Label(s, "container"), s => s.Value);
        Assert.Equal(1000, rss["main"]);
        Assert.Equal(2000, rss["sidecar"]);
        Assert.All(samples.Where(s => Label(s, "pod") == "web-0"), s => Assert.Equal("shop", Label(s, "namespace")));
    }

    [Fact]
    public void Read_NodeProcFiles_ProduceNodeExporterNames()
    {
        BuildTree(_root);
        using var source = new ResourceSource(Options(_root));

        var samples = source.Read();

        var cpu0User = samples.Single(s => s.Name == ResourceMetricNames.NodeCpuSeconds && Label(s, "cpu") == "0" && Label(s, "mode") == "user");
        Assert.Equal(0.6, cpu0User.Value, 9);
        Assert.Equal(2, samples.Count(s => s.Name == ResourceMetricNames.NodeCpuSeconds && Label(s, "mode") == "idle"));
        Assert.Equal(2048 * 1024, samples.Single(s => s.Name == "node_memory_MemTotal_bytes").Value);
        Assert.Equal(1024 * 1024, samples.Single(s => s.Name == "node_memory_Active_anon_bytes").Value);
        Assert.Equal(3, samples.Single(s => s.Name == "node_memory_HugePages_Total").Value);
    }

    [Fact]
    public void Read_MissingAndGarbledFiles_AreSkippedAndCounted()
    {
        BuildTree(_root);
        File.Delete(Path.Combine(_root.Path, "cgroup", ContainerCgroup, "io.stat"));
        File.Delete(Path.Combine(_root.Path, "cgroup", ContainerCgroup, "pids.current"));
        _root.Write(Path.Combine("cgroup", ContainerCgroup, "memory.current"), "not-a-number\n");
        var options = Options(_root);
        options.MemInfoPath = Path.Combine(_root.Path, "proc", "absent");
        using var source = new ResourceSource(options);
        var before = source.SkippedFiles;

        var samples = source.Read();

        Assert.Equal(4, source.SkippedFiles - before);
        var id = "/" + ContainerCgroup;
        Assert.Equal(2.5, Value(samples, ResourceMetricNames.CpuUsage, id), 9);
        Assert.Equal(52428800, Value(samples, ResourceMetricNames.MemoryRss, id));
        Assert.DoesNotContain(samples, s => s.Name == ResourceMetricNames.MemoryWorkingSet && Label(s, "id") == id);
        Assert.DoesNotContain(samples, s => s.Name == ResourceMetricNames.Threads && Label(s, "id") == id);
    }

    [Fact]
    public void Read_NoKubepodsAtAll_IsEmptyNotAnError()
    {
        var options = Options(_root);
        options.ProcStatPath = null;
        options.MemInfoPath = null;
        using var source = new ResourceSource(options);

        Assert.Empty(source.Read());
        Assert.Equal(0, source.SkippedFiles);
    }

    [Fact]
    public void Options_Invalid_Throw()
    {
        Assert.Throws<ArgumentException>(() => new ResourceSource(new ResourceSourceOptions { CgroupRoot = "" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ResourceSource(new ResourceSourceOptions { ClockTicksPerSecond = 0 }));
    }

    [Fact]
    public async Task Metrics_ServedOnKestrel_WithCadvisorNamesAndTypes()
    {
        BuildTree(_root);
        var metricsOptions = new PrometheusMetricsOptions();
        metricsOptions.Meters.Clear();
        metricsOptions.Meters.Add(ResourceSource.MeterName);
        using var metrics = new PrometheusMetrics(metricsOptions);
        using var source = new ResourceSource(Options(_root), new IsolatedMeterFactory());
        await using var server = await TestWebServer.StartAsync(app => app.MapPrometheusMetrics(metrics));
        using var client = new HttpClient { BaseAddress = server.BaseAddress };

        var text = await client.GetStringAsync("metrics");

        var labels = $"container=\"app\",id=\"/{ContainerCgroup}\",namespace=\"prod\",pod=\"api-7d9f\"";
        Assert.Contains("# TYPE container_cpu_usage_seconds_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains($"container_cpu_usage_seconds_total{{{labels}}} 2.5\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE container_memory_working_set_bytes gauge\n", text, StringComparison.Ordinal);
        Assert.Contains($"container_memory_working_set_bytes{{{labels}}} 83886080\n", text, StringComparison.Ordinal);
        Assert.Contains($"container_memory_rss{{{labels}}} 52428800\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE node_memory_MemTotal_bytes gauge\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Observe_WithinMinScanInterval_ReusesScan()
    {
        BuildTree(_root);
        var time = new FakeTimeProvider();
        var options = Options(_root);
        options.TimeProvider = time;
        options.MinScanInterval = TimeSpan.FromSeconds(5);
        var metricsOptions = new PrometheusMetricsOptions();
        metricsOptions.Meters.Clear();
        metricsOptions.Meters.Add(ResourceSource.MeterName);
        using var metrics = new PrometheusMetrics(metricsOptions);
        using var source = new ResourceSource(options, new IsolatedMeterFactory());
        var line = $"container_threads{{container=\"app\",id=\"/{ContainerCgroup}\",namespace=\"prod\",pod=\"api-7d9f\"}}";

        Assert.Contains(line + " 7\n", ExpositionTests.Render(metrics, ExpositionFormat.PrometheusText), StringComparison.Ordinal);
        _root.Write(Path.Combine("cgroup", ContainerCgroup, "pids.current"), "9\n");
        Assert.Contains(line + " 7\n", ExpositionTests.Render(metrics, ExpositionFormat.PrometheusText), StringComparison.Ordinal);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Contains(line + " 9\n", ExpositionTests.Render(metrics, ExpositionFormat.PrometheusText), StringComparison.Ordinal);
    }

    internal static ResourceSourceOptions Options(TempDirectory root) => new()
    {
        CgroupRoot = Path.Combine(root.Path, "cgroup"),
        PodLogRoot = Path.Combine(root.Path, "pods"),
        ContainerLogRoot = Path.Combine(root.Path, "containers"),
        ProcStatPath = Path.Combine(root.Path, "proc", "stat"),
        MemInfoPath = Path.Combine(root.Path, "proc", "meminfo"),
    };

    internal static void BuildTree(TempDirectory root)
    {
        var podSlice = Path.GetDirectoryName(ContainerCgroup)!;
        WriteCgroup(root, ContainerCgroup, usageUsec: 2_500_000, anon: 52428800, current: 104857600, inactiveFile: 20971520, pids: 7);
        root.Write(Path.Combine("cgroup", ContainerCgroup, "io.stat"), "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n259:0 rbytes=100 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n");
        WriteCgroup(root, podSlice, usageUsec: 3_000_000, anon: 60000000, current: 120000000, inactiveFile: 0, pids: 8);
        root.CreateDirectory(Path.Combine("pods", $"prod_api-7d9f_{PodUid}", "app"));

        // A guaranteed pod (directly under kubepods.slice) with two containers, named through /var/log/containers links.
        var sidecarPod = $"kubepods.slice/kubepods-pod{SidecarPodUid.Replace('-', '_')}.slice";
        WriteCgroup(root, sidecarPod, 2, 3000, 10000, 0, 2);
        WriteCgroup(root, $"{sidecarPod}/cri-containerd-{MainId}.scope", 1, 1000, 5000, 0, 1);
        WriteCgroup(root, $"{sidecarPod}/cri-containerd-{SidecarId}.scope", 1, 2000, 5000, 0, 1);
        root.CreateDirectory(Path.Combine("pods", $"shop_web-0_{SidecarPodUid}", "main"));
        root.CreateDirectory(Path.Combine("pods", $"shop_web-0_{SidecarPodUid}", "sidecar"));
        root.Write(Path.Combine("containers", $"web-0_shop_main-{MainId}.log"), string.Empty);
        root.Write(Path.Combine("containers", $"web-0_shop_sidecar-{SidecarId}.log"), string.Empty);

        // Not a pod: ignored.
        root.Write(Path.Combine("cgroup", "system.slice", "cpu.stat"), "usage_usec 1\n");

        root.Write(Path.Combine("proc", "stat"), "cpu  100 0 50 1000 0 0 0 0 0 0\ncpu0 60 0 30 500 5 0 1 0 0 0\ncpu1 40 0 20 500 0 0 0 0 0 0\nintr 123 0\nctxt 42\n");
        root.Write(Path.Combine("proc", "meminfo"), "MemTotal:        2048 kB\nActive(anon):    1024 kB\nHugePages_Total:       3\n");
    }

    private static void WriteCgroup(TempDirectory root, string cgroup, long usageUsec, long anon, long current, long inactiveFile, int pids)
    {
        var dir = Path.Combine("cgroup", cgroup);
        root.Write(Path.Combine(dir, "cpu.stat"), $"usage_usec {usageUsec}\nuser_usec {usageUsec * 3 / 5}\nsystem_usec {usageUsec * 2 / 5}\nnr_periods 0\n");
        root.Write(Path.Combine(dir, "memory.current"), current + "\n");
        root.Write(Path.Combine(dir, "memory.stat"), $"anon {anon}\nfile 41943040\nkernel 0\ninactive_file {inactiveFile}\nactive_file 0\n");
        root.Write(Path.Combine(dir, "pids.current"), pids + "\n");
        if (!File.Exists(Path.Combine(root.Path, dir, "io.stat")))
        {
            root.Write(Path.Combine(dir, "io.stat"), string.Empty);
        }
    }

    private static double Value(IReadOnlyList<ResourceSample> samples, string name, string id, string? device = null) =>
        samples.Single(s => s.Name == name && Label(s, "id") == id && (device is null || Label(s, "device") == device)).Value;

    private static string Label(ResourceSample sample, string name) =>
        sample.Labels.FirstOrDefault(l => l.Key == name).Value ?? string.Empty;
}
