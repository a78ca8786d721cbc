namespace Pipeline.Throughput;

/// <summary>The agent configurations measured: Promtail's usual kubelet-files setup, and a rich pipeline on top of it.</summary>
internal static class AgentConfigs
{
    /// <summary>Stages after <c>cri</c> in the rich config (indented as list items of <c>pipeline_stages</c>).</summary>
    private const string RichStages = """
              - json:
                  expressions:
                    level: level
                    ts: ts
                    msg: msg
                    status: status
              - drop:
                  source: level
                  value: debug
              - labels:
                  level:
              - timestamp:
                  source: ts
                  format: RFC3339Nano
              - template:
                  source: msg
                  template: '{{ ToUpper .level }} {{ .status }} {{ .Value }}'
              - output:
                  source: msg

        """;

    /// <summary>
    /// <c>basic</c>: cri, namespace/pod/container from the kubelet path, a job label. <c>rich</c> adds json extraction
    /// of 4 fields, a drop (every debug line), a label from an extracted value, the timestamp from the JSON, a template
    /// and an output.
    /// </summary>
    public static string Render(string config, string url, string positions, string glob) => $"""
        server:
          http_listen_address: 127.0.0.1
          http_listen_port: 0
        positions:
          filename: {positions}
        clients:
          - url: {url}
            batchwait: 1s
            batchsize: 1048576
        scrape_configs:
          - job_name: pods
            pipeline_stages:
              - cri: {"{}"}

        """ + (config == "rich" ? RichStages : string.Empty) + $"""
            static_configs:
              - labels:
                  job: pods
                  __path__: {glob}

        """;
}
