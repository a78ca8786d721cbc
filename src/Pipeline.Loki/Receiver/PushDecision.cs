using Pipeline.Runtime;

namespace Pipeline.Loki.Receiver;

/// <summary>
/// A decision a stage records on a whole push request or on one stream's share of it, so that every entry it covers gets
/// the same one (the first decision counts).
/// </summary>
public abstract class PushDecision
{
    private protected PushDecision()
    {
    }

    /// <summary>Whether a stage has decided.</summary>
    public bool Decided { get; private set; }

    /// <summary>Why a stage refused, or <see langword="null"/> when it admitted (or none decided).</summary>
    public EntryRejection? Refusal { get; private set; }

    /// <summary>Records a stage's decision; only the first one counts.</summary>
    /// <param name="refusal">Why the entries are refused, or <see langword="null"/> to admit them.</param>
    /// <returns>The decision in force: <paramref name="refusal"/>, or the earlier decision.</returns>
    public EntryRejection? Decide(EntryRejection? refusal)
    {
        if (!Decided)
        {
            Decided = true;
            Refusal = refusal;
        }

        return Refusal;
    }
}
