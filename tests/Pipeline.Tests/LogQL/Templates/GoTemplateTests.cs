using System.Text;
using Pipeline.LogQL.Templates;

namespace Pipeline.Tests.LogQL.Templates;

public class GoTemplateTests
{
    private static readonly Dictionary<string, string> s_fields = new(StringComparer.Ordinal)
    {
        ["level"] = "WaRn",
        ["msg"] = "disk almost full",
        ["latency"] = "250ms",
        ["status"] = "500",
        ["empty"] = "",
    };

    [Theory]
    [InlineData("{{ .level | ToUpper }}: {{ .msg }}", "WARN: disk almost full")]
    [InlineData("{{ lower .level }} {{ upper .level }} {{ title .msg }}", "warn WARN Disk Almost Full")]
    [InlineData("{{ Replace .msg \"a\" \"4\" 1 }}|{{ replace \"a\" \"4\" .msg }}", "disk 4lmost full|disk 4lmost full")]
    [InlineData("{{ TrimPrefix .msg \"disk \" }}|{{ trimPrefix \"disk \" .msg }}", "almost full|almost full")]
    [InlineData("{{ TrimSuffix .latency \"ms\" }}|{{ .latency | trimSuffix \"ms\" }}", "250|250")]
    [InlineData("[{{ Trim \"xxaxx\" \"x\" }}][{{ TrimLeft \"xxa\" \"x\" }}][{{ TrimRight \"axx\" \"x\" }}][{{ trim \"  a \" }}]", "[a][a][a][a]")]
    [InlineData("{{ regexReplaceAll \"(\\\\d+)ms\" .latency \"${1} millis\" }}", "250 millis")]
    [InlineData("{{ regexReplaceAllLiteral \"\\\\d+\" .latency \"$1\" }}", "$1ms")]
    [InlineData("{{ printf \"%s=%d %.1f %q %v%%\" .level .status 1.25 .msg true }}", "WaRn=500 1.2 \"disk almost full\" true%")]
    [InlineData("{{ printf \"%s %s\" .level }}", "WaRn %!s(MISSING)")]
    [InlineData("{{ if eq .status \"500\" \"503\" }}error{{ else if eq .status \"404\" }}missing{{ else }}ok{{ end }}", "error")]
    [InlineData("{{ if and .level (ne .status \"200\") }}x{{ end }}", null)]
    [InlineData("{{ if not .empty }}empty{{ end }}|{{ or .empty \"fallback\" }}|{{ default \"none\" .empty }}", "empty|fallback|none")]
    [InlineData("{{ if contains \"full\" .msg }}{{ hasPrefix \"disk\" .msg }} {{ hasSuffix \"x\" .msg }}{{ end }}", "true false")]
    [InlineData("a {{- \" b \" -}} c {{/* a comment */}}", "a b c ")]
    [InlineData("{{ \"}}\" }}", "}}")]
    [InlineData("{{ `raw \\n` }}", "raw \\n")]
    [InlineData("{{ \"caf\\u00e9 \\x41\\t|\" }}", "café A\t|")]
    [InlineData("{{ 42 }} {{ -1 }} {{ 1.5 }} {{ true }}", "42 -1 1.5 true")]
    public void Render_FunctionsAndControl(string template, string? expected)
    {
        if (expected is null)
        {
            Assert.Throws<FormatException>(() => GoTemplate.Parse(template, TemplateFunctions.Promtail));
            return;
        }

        Assert.Equal(expected, Render(template, TemplateFunctions.Promtail, new Data(missingIsNull: true)));
        Assert.Equal(expected, Render(template, TemplateFunctions.LogQL, new Data(missingIsNull: false)));
    }

    [Fact]
    public void MissingField_PromtailData_PrintsNoValueAndFailsAsArgument()
    {
        var data = new Data(missingIsNull: true);

        Assert.Equal("<no value>", Render("{{ .nope }}", TemplateFunctions.Promtail, data));
        var template = GoTemplate.Parse("{{ ToUpper .nope }}", TemplateFunctions.Promtail);
        Assert.False(template.TryRender(new StringBuilder(), data, out var error));
        Assert.Equal("ToUpper: invalid value; expected string", error);
    }

    [Fact]
    public void MissingField_LogQLData_IsEmpty()
    {
        var data = new Data(missingIsNull: false);

        Assert.Equal("|NONE", Render("{{ .nope }}|{{ ToUpper .nope | default \"none\" | ToUpper }}", TemplateFunctions.LogQL, data));
    }

    [Fact]
    public void EntryFunctions_OnlyInLogQLSet()
    {
        var data = new Data(missingIsNull: false);

        Assert.Equal("THE LINE @ 2023-11-14T22:13:20.5Z", Render("{{ ToUpper __line__ }} @ {{ __timestamp__ }}", TemplateFunctions.LogQL, data));
        var ex = Assert.Throws<FormatException>(() => GoTemplate.Parse("{{ __line__ }}", TemplateFunctions.Promtail));
        Assert.Equal("function \"__line__\" not defined", ex.Message);
    }

    [Theory]
    [InlineData("{{ .level ", "unclosed action at position 0")]
    [InlineData("{{ Nope .level }}", "function \"Nope\" not defined")]
    [InlineData("{{ if .level }}x", "unclosed {{if}} at position 0")]
    [InlineData("{{ end }}", "unexpected {{end}}")]
    [InlineData("{{ range .x }}{{ end }}", "'range' is not supported in templates (position 0)")]
    [InlineData("{{ .a.b }}", "unsupported field chain .a.b (position 0)")]
    [InlineData("{{ $x }}", "variables such as $x are not supported (position 0)")]
    [InlineData("{{ regexReplaceAll \"(\" .a \"x\" }}", "regexReplaceAll: invalid regular expression '(':")]
    [InlineData("{{ regexReplaceAll \"a\\\\1\" .a \"x\" }}", "RE2 has no backreferences")]
    [InlineData("{{ }}", "missing value for command at position 0")]
    [InlineData("{{ .a | }}", "missing command in pipeline at position 0")]
    [InlineData("{{ \"\\q\" }}", "invalid escape sequence in quoted string (position 0)")]
    public void Parse_Invalid_ErrorSaysWhat(string template, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => GoTemplate.Parse(template, TemplateFunctions.LogQL));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_RegexFromField_CompiledAtRunTime_BadOneIsExecutionError()
    {
        var template = GoTemplate.Parse("{{ regexReplaceAll .pattern \"abc\" \"x\" }}", TemplateFunctions.LogQL);

        Assert.True(template.TryRender(new StringBuilder(), new Data(false, ("pattern", "b")), out _));
        Assert.False(template.TryRender(new StringBuilder(), new Data(false, ("pattern", "(")), out var error));
        Assert.StartsWith("invalid regular expression '('", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_ReusedTemplate_NoStateLeaksBetweenEntries()
    {
        var template = GoTemplate.Parse("{{ .a | ToUpper }}-{{ printf \"%s\" .b }}", TemplateFunctions.LogQL);

        Assert.Equal("X-y", Render(template, new Data(false, ("a", "x"), ("b", "y"))));
        Assert.Equal("-", Render(template, new Data(false)));
    }

    private static string Render(string text, TemplateFunctions functions, ITemplateData data) => Render(GoTemplate.Parse(text, functions), data);

    private static string Render(GoTemplate template, ITemplateData data)
    {
        var output = new StringBuilder();
        Assert.True(template.TryRender(output, data, out var error), error);
        return output.ToString();
    }

    private sealed class Data(bool missingIsNull, params (string Name, string Value)[] extra) : ITemplateData
    {
        public string Line => "the line";

        public long Timestamp => 1_700_000_000_500_000_000L;

        public string? Field(string name)
        {
            foreach (var (n, v) in extra)
            {
                if (n == name)
                {
                    return v;
                }
            }

            if (extra.Length == 0 && s_fields.TryGetValue(name, out var value))
            {
                return value;
            }

            return missingIsNull ? null : string.Empty;
        }
    }
}
