using System.Net;
using System.Net.Sockets;

namespace Pipeline.LogQL.Matching;

/// <summary>
/// The pattern of LogQL's <c>ip("...")</c> label filter: one address (<c>192.168.0.1</c>), a CIDR range
/// (<c>10.0.0.0/8</c>, <c>2001:db8::/32</c>) or an inclusive range (<c>192.168.0.1-192.168.0.20</c>), IPv4 or IPv6.
/// </summary>
internal sealed class IpMatcher
{
    private readonly IPNetwork? _network;
    private readonly byte[] _low = [];
    private readonly byte[] _high = [];

    /// <summary>Parses a pattern.</summary>
    /// <exception cref="FormatException">Not an address, a CIDR range or a range of two addresses of one family.</exception>
    public IpMatcher(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        Pattern = pattern;
        var text = pattern.Trim();
        if (text.Contains('/', StringComparison.Ordinal))
        {
            if (!IPNetwork.TryParse(text, out var network))
            {
                throw Invalid(pattern);
            }

            _network = network;
            return;
        }

        var dash = text.IndexOf('-', StringComparison.Ordinal);
        var from = dash < 0 ? text : text[..dash].Trim();
        var to = dash < 0 ? text : text[(dash + 1)..].Trim();
        if (!IPAddress.TryParse(from, out var low) || !IPAddress.TryParse(to, out var high) || low.AddressFamily != high.AddressFamily)
        {
            throw Invalid(pattern);
        }

        _low = low.GetAddressBytes();
        _high = high.GetAddressBytes();
        if (_low.AsSpan().SequenceCompareTo(_high) > 0)
        {
            throw Invalid(pattern);
        }
    }

    /// <summary>The pattern as written.</summary>
    public string Pattern { get; }

    /// <summary>Whether <paramref name="value"/> is an address in the pattern (a value that is no address is not).</summary>
    public bool Matches(string? value)
    {
        if (string.IsNullOrEmpty(value) || !IPAddress.TryParse(value, out var address))
        {
            return false;
        }

        if (_network is { } network)
        {
            return network.Contains(address);
        }

        var family = _low.Length == 4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
        if (address.AddressFamily != family)
        {
            return false;
        }

        var bytes = address.GetAddressBytes();
        return bytes.AsSpan().SequenceCompareTo(_low) >= 0 && bytes.AsSpan().SequenceCompareTo(_high) <= 0;
    }

    private static FormatException Invalid(string pattern) =>
        new($"invalid ip pattern \"{pattern}\": expected an address, a CIDR range such as 10.0.0.0/8, or a range such as 10.0.0.1-10.0.0.9");
}
