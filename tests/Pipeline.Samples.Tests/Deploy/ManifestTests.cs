using System.Globalization;
using Pipeline.Hosting.Config;
using YamlDotNet.RepresentationModel;

namespace Pipeline.Samples.Tests.Deploy;

public sealed class ManifestTests
{
    private static readonly Lazy<IReadOnlyList<KubeObject>> s_objects = new(KubeObject.LoadSamples);

    private static IReadOnlyList<KubeObject> Objects => s_objects.Value;

    [Fact]
    public void Samples_AgentAndAggregatorFolders_HoldManifests()
    {
        Assert.Contains(Objects, o => o.File.Contains("/samples/Agent/deploy/", StringComparison.Ordinal));
        Assert.Contains(Objects, o => o.File.Contains("/samples/Aggregator/deploy/", StringComparison.Ordinal));
    }

    [Fact]
    public void Manifests_KindsSelectorsPortsProbesAndVolumes_AreConsistent()
    {
        var errors = ManifestValidator.Validate(Objects);
        Assert.True(errors.Count == 0, "manifest errors:\n" + string.Join('\n', errors));
    }

    [Fact]
    public void Manifests_AllInLoggingNamespace()
    {
        Assert.Contains(Objects, o => o.Kind == "Namespace" && o.Name == "logging");
        Assert.All(Objects.Where(o => o.Kind != "Namespace"), o => Assert.Equal("logging", o.Namespace));
    }

    [Fact]
    public void Workloads_RunWithReadOnlyRootFileSystemAndNoPrivilegeEscalation()
    {
        foreach (var workload in Objects.Where(ManifestValidator.IsWorkload))
        {
            foreach (var container in ManifestValidator.Containers(workload))
            {
                var where = $"{workload.Where} container {Yaml.Str(container, "name")}";
                Assert.True(Yaml.Str(container, "securityContext", "readOnlyRootFilesystem") == "true", $"{where}: readOnlyRootFilesystem must be true");
                Assert.True(Yaml.Str(container, "securityContext", "allowPrivilegeEscalation") == "false", $"{where}: allowPrivilegeEscalation must be false");
            }
        }
    }

    [Fact]
    public void AgentConfigMap_LoadsAsAgentConfig_AndPushesToTheAggregatorService()
    {
        var (_, config) = AgentConfigMap();

        var client = Assert.Single(config.Clients);
        Assert.Equal("/loki/api/v1/push", client.Url.AbsolutePath);
        var service = ResolveService(client.Url);
        Assert.Equal("aggregator", service.Name);
        Assert.Equal("ClusterIP", Yaml.Str(service.Root, "spec", "type") ?? "ClusterIP");

        var scrape = Assert.Single(config.ScrapeConfigs);
        Assert.Equal("/var/log/pods/*/*/*.log", Assert.Single(scrape.StaticConfigs).PathGlob);
        Assert.Equal("cri", Assert.Single(scrape.PipelineStages[0].Entries()).Key);
    }

    [Fact]
    public async Task AgentConfigMap_BuildsAPipelineWithTheBuiltInStages()
    {
        var (_, config) = AgentConfigMap();
        var factory = new AgentPipelineFactory(config);
        var built = new List<ClientConfig>();
        await using var pipeline = factory.Build(new Runtime.PipelineOptions(), client =>
        {
            built.Add(client);
            return ClientSinks.Create(client);
        });

        Assert.Equal(config.Clients, built);
        Assert.Equal("kubernetes-pods", Assert.Single(factory.Sources).Key);
    }

    [Fact]
    public async Task AgentConfigMap_KubeletFile_BecomesEntryWithNamespacePodAndContainerLabels()
    {
        var (configMap, _) = AgentConfigMap();
        var root = Directory.CreateTempSubdirectory("pipeline-agent-config-");
        try
        {
            // The ConfigMap's configuration, with the node's folders moved under a temporary directory.
            var yaml = Yaml.Str(configMap.Root, "data", "agent.yaml")!
                .Replace("/var/log/pods", root.FullName + "/var/log/pods", StringComparison.Ordinal)
                .Replace("/run/pipeline-agent", root.FullName + "/run", StringComparison.Ordinal);
            var config = AgentConfig.Parse(yaml, configMap.Where);
            var file = Path.Combine(root.FullName, "var/log/pods/shop_web-7d4b9_0f5e6a1c-1111-2222-3333-444455556666/nginx/0.log");
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            await File.WriteAllTextAsync(file, "2024-05-01T10:00:00.123456789Z stdout F GET /health 200\n");

            var sink = new Testing.CollectingSink();
            await using var pipeline = new AgentPipelineFactory(config).Build(new Runtime.PipelineOptions(), ClientSinks.Create, dryRun: sink);
            await pipeline.StartAsync();
            var entry = Assert.Single(await sink.WaitForCountAsync(1, TimeSpan.FromSeconds(30)));
            await pipeline.StopAsync();

            Assert.Equal("GET /health 200", entry.Line);
            Assert.Equal("shop", entry.Labels["namespace"]);
            Assert.Equal("web-7d4b9", entry.Labels["pod"]);
            Assert.Equal("nginx", entry.Labels["container"]);
            Assert.Equal("kubernetes-pods", entry.Labels["job"]);
            Assert.Equal(DateTimeOffset.Parse("2024-05-01T10:00:00Z", CultureInfo.InvariantCulture).ToUnixTimeMilliseconds() * 1_000_000 + 123_456_789, entry.Timestamp);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public void AgentDaemonSet_MountsWhatItsConfigReadsAndWrites()
    {
        var (configMap, config) = AgentConfigMap();
        var agent = Assert.Single(Objects, o => o.Kind == "DaemonSet");
        var spec = ManifestValidator.PodSpec(agent);
        var container = Assert.Single(ManifestValidator.Containers(agent));
        var volumes = Yaml.Seq(spec, "volumes").ToDictionary(v => Yaml.Str(v, "name")!, StringComparer.Ordinal);
        var mounts = Yaml.Seq(container, "volumeMounts")
            .Select(m => (Path: Yaml.Str(m, "mountPath")!, ReadOnly: Yaml.Str(m, "readOnly") == "true", Volume: volumes[Yaml.Str(m, "name")!]))
            .ToList();

        Assert.StartsWith("pipeline-agent", Yaml.Str(container, "image"), StringComparison.Ordinal);
        var configMount = Assert.Single(mounts, m => Yaml.Str(m.Volume, "configMap", "name") == configMap.Name);
        Assert.Equal(["--config", configMount.Path + "/agent.yaml"], Yaml.Seq(container, "args").Select(a => ((YamlScalarNode)a).Value!));

        // The kubelet's folders, read-only from the node.
        foreach (var path in new[] { "/var/log/pods", "/var/log/containers" })
        {
            var mount = Assert.Single(mounts, m => m.Path == path);
            Assert.True(mount.ReadOnly, $"{path} must be mounted read-only");
            Assert.Equal(path, Yaml.Str(mount.Volume, "hostPath", "path"));
        }

        Assert.StartsWith("/var/log/pods/", Assert.Single(Assert.Single(config.ScrapeConfigs).StaticConfigs).PathGlob, StringComparison.Ordinal);

        // Positions survive a restart of the pod: a writable hostPath holds them.
        var positions = Assert.Single(mounts, m => config.Positions.Filename.StartsWith(m.Path + "/", StringComparison.Ordinal));
        Assert.False(positions.ReadOnly);
        Assert.NotNull(Yaml.Str(positions.Volume, "hostPath", "path"));

        // Probes hit /ready on the port the agent's server listens on.
        var port = Assert.Single(ManifestValidator.ContainerPorts(agent));
        Assert.Equal(config.Server.ListenPort, port.Port);
        Assert.Equal(9080, port.Port);
        foreach (var probe in new[] { "readinessProbe", "livenessProbe" })
        {
            Assert.Equal("/ready", Yaml.Str(container, probe, "httpGet", "path"));
            Assert.True(ManifestValidator.PortMatches(Yaml.Str(container, probe, "httpGet", "port")!, [port]));
        }

        Assert.Contains(Yaml.Seq(spec, "tolerations"), t => Yaml.Str(t, "key") == "node-role.kubernetes.io/control-plane" && Yaml.Str(t, "operator") == "Exists");
        var account = Yaml.Str(spec, "serviceAccountName");
        Assert.Contains(Objects, o => o.Kind == "ServiceAccount" && o.Name == account);
    }

    [Fact]
    public void Aggregator_StatefulSetWithClaimTemplate_ServedOnClusterIpPort3100()
    {
        var aggregator = Assert.Single(Objects, o => o.Kind == "StatefulSet");
        var container = Assert.Single(ManifestValidator.Containers(aggregator));
        Assert.Equal(["--listen", "0.0.0.0:3100", "--data", "/data"], Yaml.Seq(container, "args").Select(a => ((YamlScalarNode)a).Value!));
        Assert.Equal("/ready", Yaml.Str(container, "readinessProbe", "httpGet", "path"));

        var claim = Assert.Single(Yaml.Seq(aggregator.Root, "spec", "volumeClaimTemplates"));
        var data = Assert.Single(Yaml.Seq(container, "volumeMounts"), m => Yaml.Str(m, "name") == Yaml.Str(claim, "metadata", "name"));
        Assert.Equal("/data", Yaml.Str(data, "mountPath"));

        var service = Assert.Single(Objects, o => o.Kind == "Service" && o.Name == "aggregator");
        Assert.Equal("ClusterIP", Yaml.Str(service.Root, "spec", "type"));
        Assert.Equal("3100", Yaml.Str(Assert.Single(Yaml.Seq(service.Root, "spec", "ports")), "port"));
        Assert.Contains(aggregator, ManifestValidator.Selected(service, Objects));
    }

    [Fact]
    public void Grafana_ProvisionedLokiDataSourcePointsAtAggregator_AndNodePort30000()
    {
        var configMap = Assert.Single(Objects, o => o.Kind == "ConfigMap" && Yaml.Get(o.Root, "data", "datasources.yaml") is not null);
        var provisioning = Yaml.ParseMapping(Yaml.Str(configMap.Root, "data", "datasources.yaml")!);
        var source = Assert.Single(Yaml.Seq(provisioning, "datasources"));
        Assert.Equal("loki", Yaml.Str(source, "type"));
        Assert.Equal("http://aggregator.logging.svc:3100", Yaml.Str(source, "url"));
        Assert.Equal("aggregator", ResolveService(new Uri(Yaml.Str(source, "url")!)).Name);

        var grafana = Assert.Single(Objects, o => o.Kind == "Deployment" && o.Name == "grafana");
        var mount = Assert.Single(ManifestValidator.Containers(grafana).SelectMany(c => Yaml.Seq(c, "volumeMounts")), m => Yaml.Str(m, "mountPath") == "/etc/grafana/provisioning/datasources");
        var volume = Assert.Single(Yaml.Seq(ManifestValidator.PodSpec(grafana), "volumes"), v => Yaml.Str(v, "name") == Yaml.Str(mount, "name"));
        Assert.Equal(configMap.Name, Yaml.Str(volume, "configMap", "name"));

        var service = Assert.Single(Objects, o => o.Kind == "Service" && o.Name == "grafana");
        Assert.Equal("NodePort", Yaml.Str(service.Root, "spec", "type"));
        Assert.Equal("30000", Yaml.Str(Assert.Single(Yaml.Seq(service.Root, "spec", "ports")), "nodePort"));
        Assert.Contains(grafana, ManifestValidator.Selected(service, Objects));
    }

    private const string GoodManifest = """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: demo
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          namespace: demo
        spec:
          selector:
            matchLabels:
              app: web
          template:
            metadata:
              labels:
                app: web
            spec:
              containers:
                - name: web
                  image: web:1
                  ports:
                    - name: http
                      containerPort: 8080
                  readinessProbe:
                    httpGet:
                      path: /ready
                      port: http
                  resources:
                    requests: {cpu: 10m}
                    limits: {cpu: 100m}
                  volumeMounts:
                    - name: config
                      mountPath: /etc/web
              volumes:
                - name: config
                  configMap:
                    name: web-config
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: web-config
          namespace: demo
        data: {}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          namespace: demo
        spec:
          selector:
            app: web
          ports:
            - port: 80
              targetPort: http
        """;

    [Fact]
    public void Validator_GoodManifest_HasNoErrors()
    {
        Assert.Empty(ManifestValidator.Validate(KubeObject.Parse(GoodManifest, "good.yaml")));
    }

    [Theory]
    [InlineData("kind: Deployment", "kind: Deploymnet", "unknown kind 'Deploymnet'")]
    [InlineData("apiVersion: apps/v1", "apiVersion: extensions/v1beta1", "apiVersion 'extensions/v1beta1' is not the one of Deployment")]
    [InlineData("      labels:\n        app: web", "      labels:\n        app: webb", "does not match the pod template labels")]
    [InlineData("  selector:\n    app: web", "  selector:\n    app: api", "matches the pods of no workload")]
    [InlineData("targetPort: http", "targetPort: 9090", "targetPort '9090' is not a container port")]
    [InlineData("port: http\n", "port: metrics\n", "readinessProbe probes port 'metrics'")]
    [InlineData("- name: config\n          configMap", "- name: settings\n          configMap", "mounts 'config', which is neither a volume")]
    [InlineData("name: web-config\n  namespace: demo\ndata", "name: other-config\n  namespace: demo\ndata", "refers to ConfigMap 'web-config'")]
    [InlineData("  namespace: demo\ndata", "  namespace: prod\ndata", "namespace 'prod' is declared by no Namespace")]
    [InlineData("limits: {cpu: 100m}", "limits: {}", "needs resources.requests and resources.limits")]
    public void Validator_BrokenManifest_NamesTheProblem(string find, string replace, string expected)
    {
        var text = GoodManifest.ReplaceLineEndings("\n");
        Assert.Contains(find, text, StringComparison.Ordinal);
        var errors = ManifestValidator.Validate(KubeObject.Parse(text.Replace(find, replace, StringComparison.Ordinal), "broken.yaml"));
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    private static (KubeObject ConfigMap, AgentConfig Config) AgentConfigMap()
    {
        var configMap = Assert.Single(Objects, o => o.Kind == "ConfigMap" && Yaml.Get(o.Root, "data", "agent.yaml") is not null);
        return (configMap, AgentConfig.Parse(Yaml.Str(configMap.Root, "data", "agent.yaml")!, configMap.Where));
    }

    /// <summary>The Service a cluster URL (<c>name.namespace.svc[.cluster.local]:port</c>) reaches; asserts the port is one of its ports.</summary>
    private static KubeObject ResolveService(Uri url)
    {
        var parts = url.Host.Split('.');
        Assert.True(
            parts.Length >= 3 && parts[2] == "svc" && (parts.Length == 3 || string.Join('.', parts[3..]) == "cluster.local"),
            $"'{url}' is not a cluster Service address (<name>.<namespace>.svc[.cluster.local])");
        var service = Assert.Single(Objects, o => o.Kind == "Service" && o.Name == parts[0] && o.Namespace == parts[1]);
        Assert.Contains(Yaml.Seq(service.Root, "spec", "ports"), p => Yaml.Str(p, "port") == url.Port.ToString(CultureInfo.InvariantCulture));
        return service;
    }
}
