using Pipeline.Aggregator.Storage;

namespace Pipeline.Aggregator.Distributor;

/// <summary>Told about every stored push (for live tailing). Must not block: it runs on the push path.</summary>
internal interface IPushObserver
{
    /// <summary>Whether anyone listens to <paramref name="tenant"/>; when not, the push is not copied.</summary>
    bool HasListeners(string tenant);

    /// <summary>The streams just stored; their line bytes are valid only during the call.</summary>
    void OnPushed(string tenant, IReadOnlyList<IngestStream> streams);
}
