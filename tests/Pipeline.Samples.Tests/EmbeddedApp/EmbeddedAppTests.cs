namespace Pipeline.Samples.Tests.EmbeddedApp;

/// <summary>
/// Packs Pipeline, Pipeline.Loki and Pipeline.Hosting into the local feed, builds samples/EmbeddedApp against those
/// packages (as a user's app would), runs it against a test push endpoint and checks what arrives.
/// </summary>
[Collection(ReleaseBuilds.Name)]
public sealed class EmbeddedAppTests
{
    private static readonly string[] s_packages = ["Pipeline", "Pipeline.Loki", "Pipeline.Hosting"];
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(5);

    [Fact]
    [Trait("Category", "Packaging")]
    public async Task EmbeddedApp_FromPackedPackages_PushesItsLinesWithAppAndLevelLabels()
    {
        var root = RepositoryRoot.Path;
        var feed = RepositoryRoot.Combine("artifacts", "packages");
        // The sample restores into a folder of its own (samples/EmbeddedApp/nuget.config), never the global one.
        var restoreFolder = RepositoryRoot.Combine("artifacts", "embedded-app", "packages");
        const string project = "samples/EmbeddedApp/EmbeddedApp.csproj";
        Directory.CreateDirectory(feed);
        await using var endpoint = await PushEndpoint.StartAsync();
        DotNetCli.Result run;
        try
        {
            foreach (var package in s_packages)
            {
                await DotNetCli.RunCheckedAsync(root, s_timeout, "pack", $"src/{package}/{package}.csproj", "-c", "Release", "-o", feed, "-p:Version=0.1.0", "-nodeReuse:false");
            }

            // A package of the same version already extracted would shadow the one just packed.
            RemoveOurPackages(restoreFolder);
            await DotNetCli.RunCheckedAsync(root, s_timeout, "restore", project, "--force");
            await DotNetCli.RunCheckedAsync(root, s_timeout, "build", project, "--no-restore", "-nodeReuse:false");
            run = await DotNetCli.RunCheckedAsync(root, s_timeout, "run", "--project", project, "--no-build", "--", "--url", endpoint.PushUrl.ToString());
        }
        finally
        {
            RemoveOurPackages(restoreFolder);
        }

        // Stopping the host drained the pipeline, so everything arrived before the process exited.
        Assert.Empty(endpoint.Errors);
        var entries = endpoint.Entries.ToList();
        var context = $"received:\n{string.Join('\n', entries.Select(e => $"{e.Labels} {e.Line}"))}\napp output:\n{run.Output}";
        Assert.True(entries.Count >= 4, context);
        Assert.All(entries, e => Assert.Equal("embedded-demo", e.Labels["app"]));
        Assert.All(entries, e => Assert.NotNull(e.Labels["level"]));

        var started = Assert.Single(entries, e => e.Line.StartsWith("checkout started for order 42", StringComparison.Ordinal));
        Assert.Equal("info", started.Labels["level"]);
        Assert.Contains(started.Metadata, m => m.Name == "scope" && m.Value.Contains("order 42", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Line.StartsWith("checkout completed for order 42", StringComparison.Ordinal) && e.Labels["level"] == "info");

        var failed = Assert.Single(entries, e => e.Line.StartsWith("checkout failed for order 43", StringComparison.Ordinal));
        Assert.Equal("error", failed.Labels["level"]);
        Assert.Contains("System.InvalidOperationException: payment declined", failed.Line, StringComparison.Ordinal);
        Assert.Contains(failed.Metadata, m => m.Name == "scope" && m.Value.Contains("order 43", StringComparison.Ordinal));
    }

    private static void RemoveOurPackages(string restoreFolder)
    {
        foreach (var package in s_packages)
        {
            var folder = Path.Combine(restoreFolder, package.ToLowerInvariant());
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
