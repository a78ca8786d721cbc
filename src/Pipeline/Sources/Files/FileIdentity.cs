namespace Pipeline.Sources.Files;

/// <summary>What makes a file the same file whatever path reaches it: its device and inode.</summary>
/// <param name="Device">The device number (major and minor combined).</param>
/// <param name="Inode">The inode number.</param>
internal readonly record struct FileIdentity(ulong Device, ulong Inode)
{
    /// <summary>No identity known (for example a Promtail positions file, which stores only paths).</summary>
    public static FileIdentity None => default;

    /// <summary>Whether an identity is known.</summary>
    public bool IsKnown => Device != 0 || Inode != 0;

    /// <inheritdoc/>
    public override string ToString() => $"{Device}:{Inode}";
}
