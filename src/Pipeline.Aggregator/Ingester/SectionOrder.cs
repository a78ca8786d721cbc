namespace Pipeline.Aggregator.Ingester;

/// <summary>
/// The timestamps of a WAL section's entries as the appender wrote them: the first, the last, and whether each is later
/// than the one before — what lets a head store the section without reading its entries (<see cref="HeadBlock"/>).
/// </summary>
internal readonly record struct SectionOrder(long First, long Last, bool Increasing);
