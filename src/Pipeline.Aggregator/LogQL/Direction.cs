namespace Pipeline.Aggregator.LogQL;

/// <summary>The order in which a log query returns entries.</summary>
public enum Direction
{
    /// <summary>Newest first (Loki's default).</summary>
    Backward = 0,

    /// <summary>Oldest first.</summary>
    Forward = 1,
}
