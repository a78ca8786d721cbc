namespace Pipeline.Aggregator.Ingester;

/// <summary>What an append did with its entries, gathered while it is checked and while it is stored.</summary>
internal struct AppendCounts
{
    public int Accepted;
    public int Duplicates;
    public List<AppendRejection>? Rejections;

    public void Reject(AppendRejection rejection) => (Rejections ??= []).Add(rejection);
}
