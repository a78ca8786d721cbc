using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Pipeline.Samples.Tests.Deploy;

/// <summary>
/// Checks a set of manifests the way a careful reviewer would before <c>kubectl apply</c>: known kinds and
/// apiVersions, selectors that select, Services that reach container ports, probes on declared ports, mounts of
/// declared volumes, and references (ConfigMaps, ServiceAccounts, governing Services, namespaces) that exist.
/// </summary>
internal static class ManifestValidator
{
    private static readonly Dictionary<string, string> s_apiVersions = new(StringComparer.Ordinal)
    {
        ["Namespace"] = "v1",
        ["ServiceAccount"] = "v1",
        ["ConfigMap"] = "v1",
        ["Secret"] = "v1",
        ["Service"] = "v1",
        ["PersistentVolumeClaim"] = "v1",
        ["Deployment"] = "apps/v1",
        ["DaemonSet"] = "apps/v1",
        ["StatefulSet"] = "apps/v1",
        ["Role"] = "rbac.authorization.k8s.io/v1",
        ["RoleBinding"] = "rbac.authorization.k8s.io/v1",
        ["ClusterRole"] = "rbac.authorization.k8s.io/v1",
        ["ClusterRoleBinding"] = "rbac.authorization.k8s.io/v1",
    };

    private static readonly HashSet<string> s_clusterScoped = new(StringComparer.Ordinal) { "Namespace", "ClusterRole", "ClusterRoleBinding" };

    public static bool IsWorkload(KubeObject o) => o.Kind is "Deployment" or "DaemonSet" or "StatefulSet";

    public static YamlNode? PodSpec(KubeObject workload) => Yaml.Get(workload.Root, "spec", "template", "spec");

    public static Dictionary<string, string> PodLabels(KubeObject workload) => Yaml.Map(workload.Root, "spec", "template", "metadata", "labels");

    public static IEnumerable<YamlNode> Containers(KubeObject workload) =>
        Yaml.Seq(PodSpec(workload), "initContainers").Concat(Yaml.Seq(PodSpec(workload), "containers"));

    /// <summary>The container ports of a workload: (name or null, number).</summary>
    public static List<(string? Name, int Port)> ContainerPorts(KubeObject workload) =>
        [.. Yaml.Seq(PodSpec(workload), "containers").SelectMany(c => Yaml.Seq(c, "ports"))
            .Select(p => (Yaml.Str(p, "name"), int.Parse(Yaml.Str(p, "containerPort") ?? "0", CultureInfo.InvariantCulture)))];

    /// <summary>Whether a port reference (a number or a port name) names one of <paramref name="ports"/>.</summary>
    public static bool PortMatches(string reference, List<(string? Name, int Port)> ports) =>
        int.TryParse(reference, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? ports.Any(p => p.Port == number)
            : ports.Any(p => p.Name == reference);

    /// <summary>The workloads in the Service's namespace whose pods the Service selects.</summary>
    public static List<KubeObject> Selected(KubeObject service, IReadOnlyList<KubeObject> all)
    {
        var selector = Yaml.Map(service.Root, "spec", "selector");
        return selector.Count == 0
            ? []
            : [.. all.Where(o => IsWorkload(o) && o.Namespace == service.Namespace && IsSubset(selector, PodLabels(o)))];
    }

    public static List<string> Validate(IReadOnlyList<KubeObject> objects)
    {
        var errors = new List<string>();
        var namespaces = objects.Where(o => o.Kind == "Namespace").Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var o in objects)
        {
            CheckIdentity(o, namespaces, errors);
        }

        foreach (var duplicate in objects.Where(o => o.Kind != "Namespace").GroupBy(o => (o.Kind, o.Namespace, o.Name)).Where(g => g.Count() > 1))
        {
            errors.Add($"{string.Join(", ", duplicate.Select(o => o.Where))}: the same object is declared more than once");
        }

        foreach (var workload in objects.Where(IsWorkload))
        {
            CheckWorkload(workload, objects, errors);
        }

        foreach (var service in objects.Where(o => o.Kind == "Service"))
        {
            CheckService(service, objects, errors);
        }

        return errors;
    }

    private static void CheckIdentity(KubeObject o, HashSet<string> namespaces, List<string> errors)
    {
        if (!s_apiVersions.TryGetValue(o.Kind, out var apiVersion))
        {
            errors.Add($"{o.Where}: unknown kind '{o.Kind}'; known: {string.Join(", ", s_apiVersions.Keys)}");
            return;
        }

        if (o.ApiVersion != apiVersion)
        {
            errors.Add($"{o.Where}: apiVersion '{o.ApiVersion}' is not the one of {o.Kind} ('{apiVersion}')");
        }

        if (s_clusterScoped.Contains(o.Kind))
        {
            if (o.Namespace is not null)
            {
                errors.Add($"{o.Where}: a {o.Kind} is cluster-scoped and takes no metadata.namespace");
            }
        }
        else if (o.Namespace is null)
        {
            errors.Add($"{o.Where}: metadata.namespace is missing");
        }
        else if (!namespaces.Contains(o.Namespace))
        {
            errors.Add($"{o.Where}: namespace '{o.Namespace}' is declared by no Namespace manifest");
        }
    }

    private static void CheckWorkload(KubeObject w, IReadOnlyList<KubeObject> all, List<string> errors)
    {
        var selector = Yaml.Map(w.Root, "spec", "selector", "matchLabels");
        var labels = PodLabels(w);
        if (selector.Count == 0)
        {
            errors.Add($"{w.Where}: spec.selector.matchLabels is empty");
        }
        else if (!IsSubset(selector, labels))
        {
            errors.Add($"{w.Where}: selector {Format(selector)} does not match the pod template labels {Format(labels)}");
        }

        var spec = PodSpec(w);
        var volumes = Yaml.Seq(spec, "volumes").Select(v => Yaml.Str(v, "name")).OfType<string>().ToList();
        var claims = Yaml.Seq(w.Root, "spec", "volumeClaimTemplates").Select(v => Yaml.Str(v, "metadata", "name")).OfType<string>().ToList();
        var mounted = new HashSet<string>(StringComparer.Ordinal);
        var containers = Yaml.Seq(spec, "containers").ToList();
        if (containers.Count == 0)
        {
            errors.Add($"{w.Where}: no containers");
        }

        var ports = ContainerPorts(w);
        foreach (var c in Containers(w))
        {
            var name = Yaml.Str(c, "name") ?? "?";
            if (string.IsNullOrEmpty(Yaml.Str(c, "image")))
            {
                errors.Add($"{w.Where}: container '{name}' has no image");
            }

            if (Yaml.Map(c, "resources", "requests").Count == 0 || Yaml.Map(c, "resources", "limits").Count == 0)
            {
                errors.Add($"{w.Where}: container '{name}' needs resources.requests and resources.limits");
            }

            foreach (var mount in Yaml.Seq(c, "volumeMounts"))
            {
                var volume = Yaml.Str(mount, "name") ?? "?";
                mounted.Add(volume);
                if (!volumes.Contains(volume) && !claims.Contains(volume))
                {
                    errors.Add($"{w.Where}: container '{name}' mounts '{volume}', which is neither a volume nor a volumeClaimTemplate");
                }

                if (Yaml.Str(mount, "mountPath") is not { Length: > 0 } path || path[0] != '/')
                {
                    errors.Add($"{w.Where}: container '{name}' mounts '{volume}' at a path that is not absolute");
                }
            }

            foreach (var probeName in new[] { "readinessProbe", "livenessProbe", "startupProbe" })
            {
                var probe = Yaml.Get(c, probeName);
                if (probe is null)
                {
                    continue;
                }

                var port = Yaml.Str(probe, "httpGet", "port") ?? Yaml.Str(probe, "tcpSocket", "port") ?? Yaml.Str(probe, "grpc", "port");
                if (port is null)
                {
                    errors.Add($"{w.Where}: container '{name}' {probeName} has no httpGet, tcpSocket or grpc port");
                }
                else if (!PortMatches(port, ports))
                {
                    errors.Add($"{w.Where}: container '{name}' {probeName} probes port '{port}', which no container declares ({FormatPorts(ports)})");
                }

                if (Yaml.Get(probe, "httpGet") is not null && Yaml.Str(probe, "httpGet", "path") is not ['/', ..])
                {
                    errors.Add($"{w.Where}: container '{name}' {probeName} httpGet.path must start with '/'");
                }
            }
        }

        foreach (var unused in volumes.Concat(claims).Where(v => !mounted.Contains(v)))
        {
            errors.Add($"{w.Where}: volume '{unused}' is declared but mounted by no container");
        }

        foreach (var v in Yaml.Seq(spec, "volumes"))
        {
            if (Yaml.Str(v, "configMap", "name") is { } configMap && !Exists(all, "ConfigMap", w.Namespace, configMap))
            {
                errors.Add($"{w.Where}: volume '{Yaml.Str(v, "name")}' refers to ConfigMap '{configMap}', which is not declared");
            }
        }

        if (Yaml.Str(spec, "serviceAccountName") is { } account && !Exists(all, "ServiceAccount", w.Namespace, account))
        {
            errors.Add($"{w.Where}: serviceAccountName '{account}' is not declared");
        }

        if (w.Kind == "StatefulSet")
        {
            var governing = Yaml.Str(w.Root, "spec", "serviceName");
            if (governing is null || !Exists(all, "Service", w.Namespace, governing))
            {
                errors.Add($"{w.Where}: spec.serviceName '{governing}' names no declared Service");
            }
        }
    }

    private static void CheckService(KubeObject s, IReadOnlyList<KubeObject> all, List<string> errors)
    {
        var selector = Yaml.Map(s.Root, "spec", "selector");
        var selected = Selected(s, all);
        if (selector.Count == 0)
        {
            errors.Add($"{s.Where}: spec.selector is empty");
            return;
        }

        if (selected.Count == 0)
        {
            errors.Add($"{s.Where}: selector {Format(selector)} matches the pods of no workload in namespace '{s.Namespace}'");
            return;
        }

        var type = Yaml.Str(s.Root, "spec", "type") ?? "ClusterIP";
        foreach (var port in Yaml.Seq(s.Root, "spec", "ports"))
        {
            var number = Yaml.Str(port, "port");
            var target = Yaml.Str(port, "targetPort") ?? number;
            if (number is null || target is null)
            {
                errors.Add($"{s.Where}: a port has no 'port'");
                continue;
            }

            foreach (var workload in selected)
            {
                var ports = ContainerPorts(workload);
                if (!PortMatches(target, ports))
                {
                    errors.Add($"{s.Where}: targetPort '{target}' is not a container port of {workload.Where} ({FormatPorts(ports)})");
                }
            }

            if (Yaml.Str(port, "nodePort") is { } nodePort)
            {
                if (type is not ("NodePort" or "LoadBalancer"))
                {
                    errors.Add($"{s.Where}: nodePort {nodePort} needs type NodePort or LoadBalancer, not {type}");
                }
                else if (!int.TryParse(nodePort, CultureInfo.InvariantCulture, out var n) || n is < 30000 or > 32767)
                {
                    errors.Add($"{s.Where}: nodePort {nodePort} is outside the default range 30000-32767");
                }
            }
        }
    }

    private static bool Exists(IReadOnlyList<KubeObject> all, string kind, string? ns, string name) =>
        all.Any(o => o.Kind == kind && o.Namespace == ns && o.Name == name);

    private static bool IsSubset(Dictionary<string, string> subset, Dictionary<string, string> set) =>
        subset.All(kv => set.TryGetValue(kv.Key, out var value) && value == kv.Value);

    private static string Format(Dictionary<string, string> labels) =>
        "{" + string.Join(", ", labels.Select(kv => $"{kv.Key}={kv.Value}")) + "}";

    private static string FormatPorts(List<(string? Name, int Port)> ports) =>
        ports.Count == 0 ? "none" : string.Join(", ", ports.Select(p => p.Name is null ? $"{p.Port}" : $"{p.Name}={p.Port}"));
}
