using System.IO.Hashing;

namespace Pipeline.Aggregator.Storage;

/// <summary>CRC-32C (Castagnoli), the checksum of WAL records, index records and chunk blocks.</summary>
internal static class Checksum
{
    public static uint Crc32C(ReadOnlySpan<byte> data) => Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, data);
}
