namespace Pipeline.Samples.Agent;

/// <summary>
/// The agent's command line: <c>--config agent.yaml</c> (or Promtail's <c>-config.file=agent.yaml</c>),
/// <c>-config.expand-env=true</c>, <c>--dry-run</c>.
/// </summary>
public sealed record AgentArguments(string ConfigFile, bool ExpandEnv, bool DryRun)
{
    /// <summary>The usage text.</summary>
    public const string Usage = "usage: pipeline-agent --config <agent.yaml> [-config.expand-env=true] [--dry-run]";

    /// <summary>Parses the arguments.</summary>
    /// <param name="args">The command line.</param>
    /// <returns>The arguments.</returns>
    /// <exception cref="ArgumentException">An unknown or incomplete argument; the message says which.</exception>
    public static AgentArguments Parse(IReadOnlyList<string> args)
    {
        string? config = null;
        var expandEnv = false;
        var dryRun = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var (name, value) = Split(arg);
            switch (name)
            {
                case "--config" or "-config" or "-config.file" or "--config.file":
                    config = value ?? (i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{arg} needs a file name. {Usage}"));
                    break;
                case "-config.expand-env" or "--config.expand-env":
                    expandEnv = value is null || bool.Parse(value);
                    break;
                case "--dry-run" or "-dry-run" or "--inspect" or "-inspect":
                    dryRun = value is null || bool.Parse(value);
                    break;
                default:
                    throw new ArgumentException($"unknown argument '{arg}'. {Usage}");
            }
        }

        return new AgentArguments(config ?? throw new ArgumentException($"no configuration file given. {Usage}"), expandEnv, dryRun);
    }

    private static (string Name, string? Value) Split(string arg)
    {
        var equals = arg.IndexOf('=', StringComparison.Ordinal);
        return equals < 0 ? (arg, null) : (arg[..equals], arg[(equals + 1)..]);
    }
}
