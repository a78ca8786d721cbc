using System.Text.RegularExpressions;
using Pipeline.LogQL.Re2;

namespace Pipeline.Tests.LogQL.Re2;

public class Re2RegexTests
{
    [Theory]
    [InlineData("(?P<n>a)", "(?<n>a)")]
    [InlineData("(?<n>a)", "(?<n>a)")]
    [InlineData("\\(?P<n>", "\\(?P<n>")]
    [InlineData("[]a]", "[\\]a]")]
    [InlineData("[^]a]", "[^\\]a]")]
    [InlineData("[[:digit:]x]", "[0-9x]")]
    [InlineData("[[:^alpha:]]", "[^A-Za-z]")]
    [InlineData("\\pN", "\\p{N}")]
    [InlineData("\\PL", "\\P{L}")]
    [InlineData("\\Q.*\\E+", "\\.\\*+")]
    [InlineData("\\x{263a}", "\\u263A")]
    [InlineData("\\x{1F600}", "\\uD83D\\uDE00")]
    [InlineData("\\012\\0", "\\u000A\\u0000")]
    [InlineData("a$", "a\\z")]
    [InlineData("(?m)a$", "(?m)a$")]
    [InlineData("(?m:a$)b$", "(?m:a$)b\\z")]
    [InlineData("(?i)a$", "(?i)a\\z")]
    [InlineData("\\d\\w\\s", "[0-9][0-9A-Za-z_][\\t\\n\\f\\r ]")]
    [InlineData("\\D\\W\\S", "[^0-9][^0-9A-Za-z_][^\\t\\n\\f\\r ]")]
    [InlineData("[\\d.-]", "[0-9.-]")]
    [InlineData("[a[b]", "[a\\[b]")]
    [InlineData("a{2,1000}", "a{2,1000}")]
    [InlineData("{x}", "{x}")]
    public void Translate_Re2Syntax_ToDotNet(string re2, string dotnet)
    {
        Assert.Equal(dotnet, Re2Regex.Translate(re2));
    }

    [Theory]
    [InlineData("(\\w+) \\1", "\\1 at position 6 is not supported: RE2 has no backreferences")]
    [InlineData("(?P<a>x)(?P=a)", "(?P= at position 8 is not supported: RE2 has no named backreferences")]
    [InlineData("(?<a>x)\\k<a>", "\\k at position 7 is not supported: RE2 has no named backreferences")]
    [InlineData("foo(?=bar)", "(?= at position 3 is not supported: RE2 has no lookahead")]
    [InlineData("foo(?!bar)", "(?! at position 3 is not supported: RE2 has no lookahead")]
    [InlineData("(?<=a)b", "(?<= at position 0 is not supported: RE2 has no lookbehind")]
    [InlineData("(?<!a)b", "(?<! at position 0 is not supported: RE2 has no lookbehind")]
    [InlineData("(?>x+)", "(?> at position 0 is not supported: RE2 has no atomic groups")]
    [InlineData("(?(a)b|c)", "(?( at position 0 is not supported: RE2 has no conditional groups")]
    [InlineData("a(?#note)", "(?# at position 1 is not supported: RE2 has no comments")]
    [InlineData("(?U)a+", "(?U) at position 0 is not supported: the ungreedy flag has no .NET form")]
    [InlineData("(?x)a", "(?x at position 0 is not supported: RE2 has only the flags i, m, s and U")]
    [InlineData("a\\Z", "\\Z at position 1 is not supported")]
    [InlineData("\\Ga", "\\G at position 0 is not supported")]
    [InlineData("a{1001}", "invalid repeat count {1001} at position 1: RE2 allows at most 1000")]
    [InlineData("[[:nope:]]", "unknown POSIX class [:nope:]")]
    [InlineData("[x[:^alpha:]]", "a negated POSIX class inside a larger class has no .NET form")]
    [InlineData("a\\", "trailing backslash at position 1")]
    public void Compile_ConstructOutsideRe2_ErrorNamesIt(string pattern, string expected)
    {
        var ex = Assert.Throws<ArgumentException>(() => Re2Regex.Compile(pattern));

        Assert.StartsWith($"invalid regular expression '{pattern}': ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_InvalidPattern_ReportsDotNetReason()
    {
        var ex = Assert.Throws<ArgumentException>(() => Re2Regex.Compile("("));

        Assert.Equal("invalid regular expression '(': Invalid pattern '(' at offset 1. Not enough )'s.", ex.Message);
    }

    [Fact]
    public void Compile_AlwaysNonBacktracking()
    {
        Assert.True(Re2Regex.Compile("(?P<a>\\d+)").Options.HasFlag(RegexOptions.NonBacktracking));
        Assert.True(Re2Regex.Compile("x", anchored: true).Options.HasFlag(RegexOptions.NonBacktracking));
    }

    [Theory]
    [InlineData("a.*", "a\nb", false)]
    [InlineData("a.*", "abc", true)]
    [InlineData("a.*", "xabc", false)]
    [InlineData("web-.*", "web-1\n", false)]
    [InlineData("(?s)a.*", "a\nb", true)]
    [InlineData("a|b", "b", true)]
    public void Compile_Anchored_MatchesWholeInputOnly(string pattern, string input, bool expected)
    {
        Assert.Equal(expected, Re2Regex.Compile(pattern, anchored: true).IsMatch(input));
    }

    [Theory]
    [InlineData("^\\w+$", "été", false)]
    [InlineData("^\\d+$", "١٢٣", false)]
    [InlineData("^\\d+$", "123", true)]
    [InlineData("end$", "the end\n", false)]
    [InlineData("(?m)end$", "the end\nnext", true)]
    public void Compile_Re2Semantics(string pattern, string input, bool expected)
    {
        Assert.Equal(expected, Re2Regex.Compile(pattern).IsMatch(input));
    }

    [Fact]
    public void Compile_HostileInput_LinearTime()
    {
        // Catastrophic for a backtracking engine; linear here (no time assertion: it simply completes).
        var regex = Re2Regex.Compile("^(a+)+$");

        Assert.DoesNotMatch(regex, new string('a', 100_000) + "!");
    }

    [Fact]
    public void GroupNamesByNumber_NamedGroupsOnly()
    {
        Assert.Equal(new string?[] { null, "a", "b" }, Re2Regex.GroupNamesByNumber(Re2Regex.Compile("(?P<a>x)(?P<b>z)")));
        Assert.Equal(new string?[] { null, null, "a" }, Re2Regex.GroupNamesByNumber(Re2Regex.Compile("(?P<a>x)(y)")));
    }
}
