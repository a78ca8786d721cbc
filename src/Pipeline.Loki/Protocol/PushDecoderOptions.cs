namespace Pipeline.Loki.Protocol;

/// <summary>Limits applied while decoding push bodies.</summary>
public sealed class PushDecoderOptions
{
    /// <summary>The default cap on a body's decompressed size: 100 MiB, Loki's default maximum message size.</summary>
    public const int DefaultMaxDecompressedBytes = 100 * 1024 * 1024;

    /// <summary>The options with default limits.</summary>
    public static PushDecoderOptions Default { get; } = new();

    /// <summary>
    /// The largest decompressed body accepted. A snappy body whose length header declares more is rejected before
    /// anything is allocated; a gzip body is rejected as soon as it inflates past it.
    /// </summary>
    public int MaxDecompressedBytes
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(MaxDecompressedBytes));
            field = value;
        }
    } = DefaultMaxDecompressedBytes;
}
