using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Pipeline.Model;

namespace Pipeline.Sources.Files;

/// <summary>A file found by a scan: the path it was matched as, its identity, and the labels its entries carry.</summary>
/// <param name="Path">The path as matched (the <c>filename</c> label).</param>
/// <param name="Identity">Device and inode.</param>
/// <param name="Size">Size at scan time.</param>
/// <param name="Labels">The labels of its entries.</param>
/// <param name="RealPath">Where the file really is (a symlink's final target; else <paramref name="Path"/>): its rotated generations are next to it.</param>
internal sealed record DiscoveredFile(string Path, FileIdentity Identity, long Size, LabelSet Labels, string RealPath);

/// <summary>
/// Finds the files to tail: expands include globs (<c>__path__</c>), removes excluded ones (<c>__path_exclude__</c>)
/// and rotated ones (<c>*.log.&lt;suffix&gt;</c>, compressed), and collapses paths that reach the same file (a
/// <c>/var/log/containers</c> symlink and its <c>/var/log/pods</c> target) to one, by device and inode.
/// </summary>
/// <remarks>
/// Labels: <c>filename</c> (the path as matched), the configured static labels, and for the Kubernetes layouts
/// <c>namespace</c>, <c>pod</c>, <c>container</c> plus the internal <c>__meta_kubernetes_pod_uid</c> (kubelet
/// layout) or <c>__meta_docker_container_id</c> (docker and containers layouts), which a relabel stage can promote.
/// </remarks>
internal sealed partial class FileDiscovery
{
    /// <summary>The internal label holding a kubelet pod's UID.</summary>
    public const string PodUidLabel = "__meta_kubernetes_pod_uid";

    /// <summary>The internal label holding a container's id.</summary>
    public const string ContainerIdLabel = "__meta_docker_container_id";

    private static readonly EnumerationOptions s_enumeration = new()
    {
        IgnoreInaccessible = true,
        RecurseSubdirectories = false,
        ReturnSpecialDirectories = false,
        AttributesToSkip = 0,
    };

    private readonly GlobPattern[] _include;
    private readonly GlobPattern[] _exclude;
    private readonly bool _includeRotated;
    private readonly LabelSet _staticLabels;
    private readonly ILogger _logger;
    private readonly Dictionary<string, LabelSet> _labelCache = new(StringComparer.Ordinal);

    public FileDiscovery(IEnumerable<string> include, IEnumerable<string> exclude, bool includeRotated, LabelSet staticLabels, ILogger logger)
    {
        _include = [.. include.Select(GlobPattern.Parse)];
        _exclude = [.. exclude.Select(GlobPattern.Parse)];
        _includeRotated = includeRotated;
        _staticLabels = staticLabels;
        _logger = logger;
    }

    /// <summary>The directories to watch for hints: the fixed prefix of each include pattern.</summary>
    public IEnumerable<string> WatchRoots
    {
        get
        {
            foreach (var pattern in _include)
            {
                foreach (var segments in pattern.Alternatives)
                {
                    var fixedCount = 0;
                    while (fixedCount < segments.Length - 1 && !GlobPattern.HasWildcard(segments[fixedCount]) && segments[fixedCount] != "**")
                    {
                        fixedCount++;
                    }

                    var root = string.Join('/', segments, 0, fixedCount);
                    yield return root.Length == 0 ? "/" : root;
                }
            }
        }
    }

    /// <summary>Whether a file name looks like a rotated or compressed log (not a new target by default).</summary>
    /// <param name="fileName">The file name.</param>
    /// <returns>Whether it is rotated.</returns>
    public static bool IsRotated(string fileName) => RotatedName().IsMatch(fileName);

    /// <summary>Scans now.</summary>
    /// <returns>One entry per file identity.</returns>
    public List<DiscoveredFile> Scan()
    {
        var matched = new List<string>();
        var seenPaths = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pattern in _include)
        {
            try
            {
                foreach (var segments in pattern.Alternatives)
                {
                    Walk(segments, 1, "", matched, seenPaths);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                FileTailLog.ScanFailed(_logger, ex, pattern.Text);
            }
        }

        var byIdentity = new Dictionary<FileIdentity, (string Path, bool IsLink, long Size)>();
        foreach (var path in matched)
        {
            if ((!_includeRotated && IsRotated(Path.GetFileName(path))) || IsExcluded(path) || !FileStat.TryStat(path, out var status))
            {
                continue;
            }

            var isLink = IsSymbolicLink(path);
            if (byIdentity.TryGetValue(status.Identity, out var existing)
                && (existing.IsLink == isLink ? string.CompareOrdinal(existing.Path, path) <= 0 : !existing.IsLink))
            {
                // Prefer the real file over a symlink to it, then the first path in order, so the choice is stable.
                continue;
            }

            byIdentity[status.Identity] = (path, isLink, status.Size);
        }

        var result = new List<DiscoveredFile>(byIdentity.Count);
        foreach (var (identity, (path, isLink, size)) in byIdentity)
        {
            result.Add(new DiscoveredFile(path, identity, size, LabelsFor(path, isLink), isLink ? RealPathOf(path) : path));
        }

        result.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return result;
    }

    /// <summary>Whether <paramref name="path"/> is one this discovery would match (by the include and exclude patterns), whether or not it exists.</summary>
    /// <param name="path">A path, e.g. one from the positions file.</param>
    /// <returns>Whether it is a target of this discovery.</returns>
    public bool Matches(string path)
    {
        if ((!_includeRotated && IsRotated(Path.GetFileName(path))) || IsExcluded(path))
        {
            return false;
        }

        foreach (var pattern in _include)
        {
            if (pattern.IsMatch(path))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The labels of the entries of a target that is not (or no longer) found by a scan, e.g. one only its rotated generations are left of.</summary>
    /// <param name="path">The target's path.</param>
    /// <returns>Its labels.</returns>
    public LabelSet LabelsFor(string path) => LabelsFor(path, isLink: false);

    private static string RealPathOf(string path)
    {
        try
        {
            return File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? path;
        }
        catch (IOException)
        {
            return path;
        }
    }

    private static bool IsSymbolicLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget is not null;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void Walk(string[] segments, int index, string directory, List<string> matched, HashSet<string> seen)
    {
        var isLast = index == segments.Length - 1;
        var segment = segments[index];
        var current = directory.Length == 0 ? "/" : directory;
        if (segment == "**")
        {
            if (isLast)
            {
                // A trailing '**' matches every file below.
                foreach (var file in Directory.EnumerateFiles(current, "*", new EnumerationOptions { IgnoreInaccessible = true, RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }))
                {
                    Add(file, matched, seen);
                }

                return;
            }

            Walk(segments, index + 1, directory, matched, seen);
            foreach (var sub in Directory.EnumerateDirectories(current, "*", s_enumeration))
            {
                // Symlinked directories are not followed under '**': they can loop.
                if (new DirectoryInfo(sub).LinkTarget is null)
                {
                    Walk(segments, index, sub, matched, seen);
                }
            }

            return;
        }

        if (!GlobPattern.HasWildcard(segment))
        {
            var next = directory + "/" + segment.Replace("\\", string.Empty, StringComparison.Ordinal);
            if (isLast)
            {
                if (File.Exists(next))
                {
                    Add(next, matched, seen);
                }
            }
            else if (Directory.Exists(next))
            {
                Walk(segments, index + 1, next, matched, seen);
            }

            return;
        }

        if (!Directory.Exists(current))
        {
            return;
        }

        if (isLast)
        {
            foreach (var file in Directory.EnumerateFiles(current, "*", s_enumeration))
            {
                if (GlobPattern.MatchSegment(segment, Path.GetFileName(file.AsSpan())))
                {
                    Add(file, matched, seen);
                }
            }
        }
        else
        {
            foreach (var sub in Directory.EnumerateDirectories(current, "*", s_enumeration))
            {
                if (GlobPattern.MatchSegment(segment, Path.GetFileName(sub.AsSpan())))
                {
                    Walk(segments, index + 1, sub, matched, seen);
                }
            }
        }
    }

    private static void Add(string path, List<string> matched, HashSet<string> seen)
    {
        if (seen.Add(path))
        {
            matched.Add(path);
        }
    }

    private bool IsExcluded(string path)
    {
        foreach (var pattern in _exclude)
        {
            if (pattern.IsMatch(path))
            {
                return true;
            }
        }

        return false;
    }

    private LabelSet LabelsFor(string path, bool isLink)
    {
        if (_labelCache.TryGetValue(path, out var cached))
        {
            return cached;
        }

        var builder = _staticLabels.ToBuilder().Set("filename", path);
        var layoutPath = isLink ? RealPathOf(path) : path;

        var pods = KubeletPath().Match(layoutPath);
        var containers = ContainersPath().Match(path);
        var docker = DockerPath().Match(path);
        if (pods.Success)
        {
            builder.Set("namespace", pods.Groups["ns"].Value)
                .Set("pod", pods.Groups["pod"].Value)
                .Set("container", pods.Groups["container"].Value)
                .Set(PodUidLabel, pods.Groups["uid"].Value);
        }
        else if (containers.Success)
        {
            builder.Set("namespace", containers.Groups["ns"].Value)
                .Set("pod", containers.Groups["pod"].Value)
                .Set("container", containers.Groups["container"].Value);
        }

        if (containers.Success)
        {
            builder.Set(ContainerIdLabel, containers.Groups["id"].Value);
        }
        else if (docker.Success)
        {
            builder.Set(ContainerIdLabel, docker.Groups["id"].Value);
        }

        var labels = builder.Build();
        if (_labelCache.Count > 100_000)
        {
            _labelCache.Clear();
        }

        _labelCache[path] = labels;
        return labels;
    }

    // .../pods/<namespace>_<pod>_<uid>/<container>/<restart>.log (namespace and pod names cannot contain '_').
    [GeneratedRegex(@"/pods/(?<ns>[^_/]+)_(?<pod>[^_/]+)_(?<uid>[^_/]+)/(?<container>[^/]+)/[0-9]+\.log$", RegexOptions.CultureInvariant)]
    private static partial Regex KubeletPath();

    // .../containers/<pod>_<namespace>_<container>-<64 hex id>.log
    [GeneratedRegex(@"/containers/(?<pod>[^_/]+)_(?<ns>[^_/]+)_(?<container>[^/]+)-(?<id>[0-9a-f]{64})\.log$", RegexOptions.CultureInvariant)]
    private static partial Regex ContainersPath();

    // .../containers/<id>/<id>-json.log (docker json-file driver)
    [GeneratedRegex(@"/containers/(?<id>[0-9a-f]{12,64})/\k<id>-json\.log$", RegexOptions.CultureInvariant)]
    private static partial Regex DockerPath();

    // kubelet's 0.log.20240101-101010, logrotate's app.log.1, and compressed files.
    [GeneratedRegex(@"(\.log\.[^/]+|\.(gz|bz2|xz|zst|zip|lz4))$", RegexOptions.CultureInvariant)]
    private static partial Regex RotatedName();
}
