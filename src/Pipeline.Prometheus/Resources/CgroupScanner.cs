using System.Globalization;
using System.Text.RegularExpressions;

namespace Pipeline.Prometheus.Resources;

/// <summary>
/// Walks the kubepods cgroup v2 tree, maps pod and container cgroups to namespace/pod/container via kubelet's log
/// directories, and reads each cgroup's files into samples. A missing, unreadable or unparsable file is skipped
/// and reported through <c>skip</c>.
/// </summary>
internal sealed partial class CgroupScanner
{
    private readonly ResourceSourceOptions _options;

    public CgroupScanner(ResourceSourceOptions options)
    {
        _options = options;
    }

    public void Scan(List<ResourceSample> samples, Action<string> skip)
    {
        var pods = ReadPodDirectories();
        var containerNames = ReadContainerLinks();
        foreach (var top in new[] { "kubepods.slice", "kubepods" })
        {
            var root = Path.Combine(_options.CgroupRoot, top);
            if (Directory.Exists(root))
            {
                Walk(root, depth: 0, samples, skip, pods, containerNames);
            }
        }
    }

    private void Walk(
        string directory,
        int depth,
        List<ResourceSample> samples,
        Action<string> skip,
        Dictionary<string, PodInfo> pods,
        Dictionary<string, string> containerNames)
    {
        // kubepods[/qos]/pod: at most two levels down to a pod.
        if (depth > 2)
        {
            return;
        }

        foreach (var child in SafeEnumerateDirectories(directory, skip))
        {
            var match = PodCgroupRegex().Match(Path.GetFileName(child));
            if (match.Success)
            {
                var uid = match.Groups["uid"].Value.Replace('_', '-');
                pods.TryGetValue(uid, out var pod);
                var podLabels = pod ?? new PodInfo(string.Empty, string.Empty, uid, []);
                ReadCgroup(child, podLabels, container: string.Empty, samples, skip);
                foreach (var containerDirectory in SafeEnumerateDirectories(child, skip))
                {
                    var containerMatch = ContainerCgroupRegex().Match(Path.GetFileName(containerDirectory));
                    if (!containerMatch.Success)
                    {
                        continue;
                    }

                    var id = containerMatch.Groups["id"].Value;
                    if (!containerNames.TryGetValue(id, out var name))
                    {
                        // With one container directory under the pod's logs, that is the name; else unknown.
                        name = podLabels.Containers.Length == 1 ? podLabels.Containers[0] : string.Empty;
                    }

                    ReadCgroup(containerDirectory, podLabels, name, samples, skip);
                }
            }
            else
            {
                Walk(child, depth + 1, samples, skip, pods, containerNames);
            }
        }
    }

    private void ReadCgroup(string directory, PodInfo pod, string container, List<ResourceSample> samples, Action<string> skip)
    {
        var id = "/" + Path.GetRelativePath(_options.CgroupRoot, directory).Replace('\\', '/');
        KeyValuePair<string, string>[] labels =
        [
            new("container", container),
            new("id", id),
            new("namespace", pod.Namespace),
            new("pod", pod.Name),
        ];

        if (TryReadKeyValues(Path.Combine(directory, "cpu.stat"), skip, out var cpu))
        {
            AddIfPresent(samples, cpu, "usage_usec", ResourceMetricNames.CpuUsage, labels, 1e-6);
            AddIfPresent(samples, cpu, "user_usec", ResourceMetricNames.CpuUser, labels, 1e-6);
            AddIfPresent(samples, cpu, "system_usec", ResourceMetricNames.CpuSystem, labels, 1e-6);
        }

        var hasCurrent = TryReadSingle(Path.Combine(directory, "memory.current"), skip, out var current);
        if (hasCurrent)
        {
            samples.Add(new(ResourceMetricNames.MemoryUsage, false, labels, current));
        }

        if (TryReadKeyValues(Path.Combine(directory, "memory.stat"), skip, out var memory))
        {
            AddIfPresent(samples, memory, "anon", ResourceMetricNames.MemoryRss, labels, 1);
            AddIfPresent(samples, memory, "file", ResourceMetricNames.MemoryCache, labels, 1);
            if (hasCurrent)
            {
                var inactive = memory.TryGetValue("inactive_file", out var value) ? value : 0;
                samples.Add(new(ResourceMetricNames.MemoryWorkingSet, false, labels, Math.Max(0, current - inactive)));
            }
        }

        if (TryReadIoStat(Path.Combine(directory, "io.stat"), skip, out var devices))
        {
            foreach (var (device, read, written) in devices)
            {
                KeyValuePair<string, string>[] deviceLabels = [labels[0], new("device", device), labels[1], labels[2], labels[3]];
                samples.Add(new(ResourceMetricNames.FsReadsBytes, true, deviceLabels, read));
                samples.Add(new(ResourceMetricNames.FsWritesBytes, true, deviceLabels, written));
            }
        }

        if (TryReadSingle(Path.Combine(directory, "pids.current"), skip, out var pids))
        {
            samples.Add(new(ResourceMetricNames.Threads, false, labels, pids));
        }
    }

    private static void AddIfPresent(
        List<ResourceSample> samples,
        Dictionary<string, double> values,
        string key,
        string name,
        KeyValuePair<string, string>[] labels,
        double scale)
    {
        if (values.TryGetValue(key, out var value))
        {
            samples.Add(new(name, name.EndsWith("_total", StringComparison.Ordinal), labels, value * scale));
        }
    }

    private static bool TryReadSingle(string path, Action<string> skip, out double value)
    {
        value = 0;
        var text = ResourceFiles.TryRead(path, skip);
        if (text is null)
        {
            return false;
        }

        if (!double.TryParse(text.AsSpan().Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value))
        {
            skip(path);
            return false;
        }

        return true;
    }

    private static bool TryReadKeyValues(string path, Action<string> skip, out Dictionary<string, double> values)
    {
        values = new Dictionary<string, double>(StringComparer.Ordinal);
        var text = ResourceFiles.TryRead(path, skip);
        if (text is null)
        {
            return false;
        }

        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0
                || !double.TryParse(line.AsSpan(space + 1).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                skip(path);
                return false;
            }

            values[line[..space]] = value;
        }

        return true;
    }

    private static bool TryReadIoStat(string path, Action<string> skip, out List<(string Device, double Read, double Written)> devices)
    {
        devices = [];
        var text = ResourceFiles.TryRead(path, skip);
        if (text is null)
        {
            return false;
        }

        // "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0", one line per device.
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            double read = 0, written = 0;
            for (var i = 1; i < fields.Length; i++)
            {
                var eq = fields[i].IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0 || !double.TryParse(fields[i].AsSpan(eq + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    skip(path);
                    return false;
                }

                switch (fields[i][..eq])
                {
                    case "rbytes":
                        read = value;
                        break;
                    case "wbytes":
                        written = value;
                        break;
                }
            }

            devices.Add((fields[0], read, written));
        }

        return true;
    }

    private Dictionary<string, PodInfo> ReadPodDirectories()
    {
        var pods = new Dictionary<string, PodInfo>(StringComparer.Ordinal);
        if (!Directory.Exists(_options.PodLogRoot))
        {
            return pods;
        }

        foreach (var directory in SafeEnumerateDirectories(_options.PodLogRoot, static _ => { }))
        {
            // <namespace>_<pod>_<uid>: namespace and pod names hold no '_' (DNS labels), the uid none either.
            var parts = Path.GetFileName(directory).Split('_');
            if (parts.Length != 3)
            {
                continue;
            }

            var containers = SafeEnumerateDirectories(directory, static _ => { }).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
            pods[parts[2]] = new PodInfo(parts[0], parts[1], parts[2], containers);
        }

        return pods;
    }

    private Dictionary<string, string> ReadContainerLinks()
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!Directory.Exists(_options.ContainerLogRoot))
        {
            return names;
        }

        IEnumerable<string> files;
        try
        {
            files = Directory.EnumerateFiles(_options.ContainerLogRoot, "*.log").ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return names;
        }

        foreach (var file in files)
        {
            // <pod>_<namespace>_<container>-<64 hex id>.log
            var match = ContainerLinkRegex().Match(Path.GetFileName(file));
            if (match.Success)
            {
                names[match.Groups["id"].Value] = match.Groups["container"].Value;
            }
        }

        return names;
    }

    private static string[] SafeEnumerateDirectories(string directory, Action<string> skip)
    {
        try
        {
            return Directory.GetDirectories(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            skip(directory);
            return [];
        }
    }

    // kubepods-burstable-pod<uid with _>.slice (systemd driver) or pod<uid> (cgroupfs driver).
    [GeneratedRegex(@"^(?:.*-)?pod(?<uid>[0-9a-fA-F_-]{8,})(?:\.slice)?$", RegexOptions.CultureInvariant)]
    private static partial Regex PodCgroupRegex();

    // cri-containerd-<id>.scope, crio-<id>.scope, docker-<id>.scope, or a bare id (cgroupfs driver).
    [GeneratedRegex(@"^(?:(?:cri-containerd|crio|docker)-)?(?<id>[0-9a-f]{12,64})(?:\.scope)?$", RegexOptions.CultureInvariant)]
    private static partial Regex ContainerCgroupRegex();

    [GeneratedRegex(@"^[^_]+_[^_]+_(?<container>.+)-(?<id>[0-9a-f]{64})\.log$", RegexOptions.CultureInvariant)]
    private static partial Regex ContainerLinkRegex();

    private sealed record PodInfo(string Namespace, string Name, string Uid, string[] Containers);
}

/// <summary>Reads small kernel files; a missing or unreadable one is reported and yields <see langword="null"/>.</summary>
internal static class ResourceFiles
{
    public static string? TryRead(string path, Action<string> skip)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            skip(path);
            return null;
        }
    }
}
