namespace Pipeline.Loki.Receiver;

/// <summary>One entry of a <see cref="PushedStream"/> as stages deciding on a whole request see it.</summary>
/// <param name="Timestamp">The entry's timestamp, Unix nanoseconds (as it leaves the receiver).</param>
/// <param name="LineLength">The bytes of its line.</param>
/// <param name="Bytes">The bytes of its line and structured metadata (names and values): Loki's measure of an entry's size.</param>
public readonly record struct PushedEntry(long Timestamp, int LineLength, int Bytes);
