namespace Pipeline.Loki;

/// <summary>Constants of Loki's push API.</summary>
public static class LokiPush
{
    /// <summary>The push path, <c>/loki/api/v1/push</c>.</summary>
    public const string Path = "/loki/api/v1/push";

    /// <summary>The header that carries the tenant, <c>X-Scope-OrgID</c>.</summary>
    public const string TenantHeader = "X-Scope-OrgID";

    /// <summary>The content type of a snappy-compressed protobuf body.</summary>
    public const string ProtobufContentType = "application/x-protobuf";

    /// <summary>The content type of a JSON body.</summary>
    public const string JsonContentType = "application/json";
}
