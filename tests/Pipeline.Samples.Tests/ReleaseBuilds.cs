namespace Pipeline.Samples.Tests;

/// <summary>
/// Tests that build the repository's projects in Release with the CLI (pack, publish): one at a time, since they share
/// the projects' Release output folders.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ReleaseBuilds
{
    public const string Name = "Release builds";
}
