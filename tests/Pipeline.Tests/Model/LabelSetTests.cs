using System.Text;
using Pipeline.Model;

namespace Pipeline.Tests.Model;

public sealed class LabelSetTests
{
    public static TheoryData<string, string> ValidForms => new()
    {
        { "{}", "{}" },
        { "  {  }  ", "{}" },
        { "{a=\"b\"}", "{a=\"b\"}" },
        { "{ a = \"b\" , c = \"d\" }", "{a=\"b\", c=\"d\"}" },
        { "{a=\"b\",c=\"d\"}", "{a=\"b\", c=\"d\"}" },
        { "{a=\"b\",}", "{a=\"b\"}" },
        { "{a=\"b\", c=\"d\", }", "{a=\"b\", c=\"d\"}" },
        { "{c=\"d\", a=\"b\"}", "{a=\"b\", c=\"d\"}" },
        { "{_=\"x\"}", "{_=\"x\"}" },
        { "{__path__=\"/var/log/*.log\"}", "{__path__=\"/var/log/*.log\"}" },
        { "{Ab_9=\"x\"}", "{Ab_9=\"x\"}" },
        { "\t{\na=\"b\"\r\n}\n", "{a=\"b\"}" },
        { "{a=\"\"}", "{}" },
        { "{a=\"\", b=\"c\"}", "{b=\"c\"}" },
        { "{a=\"=,{}\"}", "{a=\"=,{}\"}" },
        { "{a=\"é漢字😀\"}", "{a=\"é漢字😀\"}" },
    };

    [Theory]
    [MemberData(nameof(ValidForms))]
    public void Parse_ValidForms_ProducesCanonicalText(string text, string expected)
    {
        var set = LabelSet.Parse(text);

        Assert.Equal(expected, set.ToString());
        Assert.True(LabelSet.TryParse(text, out var viaTry, out var error));
        Assert.Null(error);
        Assert.Equal(set, viaTry);
    }

    [Theory]
    [InlineData("{a=\"x\\\\y\"}", "x\\y")]
    [InlineData("{a=\"x\\\"y\"}", "x\"y")]
    [InlineData("{a=\"x\\ny\"}", "x\ny")]
    [InlineData("{a=\"x\\ty\"}", "x\ty")]
    [InlineData("{a=\"x\\ry\"}", "x\ry")]
    [InlineData("{a=\"\\'\"}", "'")]
    [InlineData("{a=\"\\a\\b\\f\\v\"}", "\a\b\f\v")]
    [InlineData("{a=\"\\x41\"}", "A")]
    [InlineData("{a=\"\\x7e\\x7E\"}", "~~")]
    [InlineData("{a=\"\\u00e9\"}", "é")]
    [InlineData("{a=\"\\u00E9t\\u00e9\"}", "été")]
    [InlineData("{a=\"\\U0001F600\"}", "😀")]
    [InlineData("{a=\"\\\\n\"}", "\\n")]
    [InlineData("{a=\"tab\there\"}", "tab\there")]
    public void Parse_Escapes_DecodeToValue(string text, string expected)
    {
        var set = LabelSet.Parse(text);

        Assert.Equal(expected, set["a"]);
    }

    [Fact]
    public void Parse_HexEscapedUtf8Bytes_DecodeLikeGo()
    {
        var set = LabelSet.Parse("{a=\"caf\\xc3\\xa9\"}");

        Assert.Equal("café", set["a"]);
    }

    [Fact]
    public void Parse_HexEscapedInvalidUtf8_BecomesReplacementCharacter()
    {
        var set = LabelSet.Parse("{a=\"x\\xffy\"}");

        Assert.Equal("x\uFFFDy", set["a"]);
    }

    [Theory]
    [InlineData("", "expected '{' at position 0 (found end of input)")]
    [InlineData("   ", "expected '{' at position 3 (found end of input)")]
    [InlineData("a=\"b\"}", "expected '{' at position 0 (found 'a')")]
    [InlineData("{a=\"b", "unterminated quoted value at position 5 (found end of input)")]
    [InlineData("{a=\"b}", "unterminated quoted value at position 6 (found end of input)")]
    [InlineData("{a=\"b\\", "unterminated quoted value at position 6 (found end of input)")]
    [InlineData("{a=\"b\\\"}", "unterminated quoted value at position 8 (found end of input)")]
    [InlineData("{a=\"\\q\"}", "invalid escape sequence '\\q' at position 4 (found '\\')")]
    [InlineData("{a=\"ok\", b=\"x\\zy\"}", "invalid escape sequence '\\z' at position 13 (found '\\')")]
    [InlineData("{a=\"\\x4\"}", "invalid escape sequence '\\x' at position 4 (found '\\')")]
    [InlineData("{a=\"\\xZZ\"}", "invalid escape sequence '\\x' at position 4 (found '\\')")]
    [InlineData("{a=\"\\u00\"}", "invalid escape sequence '\\u' at position 4 (found '\\')")]
    [InlineData("{a=\"\\ud800\"}", "invalid escape sequence '\\u' at position 4 (found '\\')")]
    [InlineData("{a=\"\\UFFFFFFFF\"}", "invalid escape sequence '\\U' at position 4 (found '\\')")]
    [InlineData("{=\"a\"}", "expected a label name at position 1 (found '=')")]
    [InlineData("{a=\"b\", =\"c\"}", "expected a label name at position 8 (found '=')")]
    [InlineData("{1a=\"b\"}", "invalid label name '1a' at position 1 (found '1')")]
    [InlineData("{a-b=\"c\"}", "expected '=' after label name 'a' at position 2 (found '-')")]
    [InlineData("{a\"b\"}", "expected '=' after label name 'a' at position 2 (found '\"')")]
    [InlineData("{a}", "expected '=' after label name 'a' at position 2 (found '}')")]
    [InlineData("{a=b}", "expected '\"' to open the value of label 'a' at position 3 (found 'b')")]
    [InlineData("{a='b'}", "expected '\"' to open the value of label 'a' at position 3 (found ''')")]
    [InlineData("{a=\"b\"", "expected ',' or '}' at position 6 (found end of input)")]
    [InlineData("{a=\"b\" c=\"d\"}", "expected ',' or '}' at position 7 (found 'c')")]
    [InlineData("{a=\"b\",", "expected a label name at position 7 (found end of input)")]
    [InlineData("{a=\"b\"} x", "unexpected text after '}' at position 8 (found 'x')")]
    [InlineData("{}}", "unexpected text after '}' at position 2 (found '}')")]
    [InlineData("{,}", "expected a label name at position 1 (found ',')")]
    [InlineData("{é=\"b\"}", "expected a label name at position 1 (found 'é')")]
    public void TryParse_Malformed_ReportsWhatAndWhere(string text, string expected)
    {
        Assert.False(LabelSet.TryParse(text, out var set, out var error));
        Assert.Null(set);
        Assert.Equal(expected, error);

        var exception = Assert.Throws<FormatException>(() => LabelSet.Parse(text));
        Assert.Equal("invalid label set: " + expected, exception.Message);
    }

    [Theory]
    [InlineData("{a=\"b\", a=\"c\"}")]
    [InlineData("{a=\"b\", z=\"y\", a=\"b\"}")]
    public void TryParse_DuplicateName_ReportsTheName(string text)
    {
        Assert.False(LabelSet.TryParse(text, out _, out var error));
        Assert.Equal("duplicate label name 'a'", error);
        var exception = Assert.Throws<FormatException>(() => LabelSet.Parse(text));
        Assert.Contains("duplicate label name 'a'", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DuplicateWhereOneValueIsEmpty_KeepsTheNonEmptyOne()
    {
        // An empty value is the same as an absent label, so only one 'a' remains.
        var set = LabelSet.Parse("{a=\"\", a=\"x\"}");

        Assert.Equal("{a=\"x\"}", set.ToString());
    }

    [Fact]
    public void Parse_AllValuesEmpty_ReturnsEmptySingleton()
    {
        Assert.Same(LabelSet.Empty, LabelSet.Parse("{a=\"\", b=\"\"}"));
        Assert.Same(LabelSet.Empty, LabelSet.Parse("{}"));
    }

    [Fact]
    public void Create_EmptyValues_AreDropped()
    {
        var set = LabelSet.Create(new Label("b", ""), new Label("a", "x"), new Label("c", ""));

        Assert.Equal(new Label("a", "x"), Assert.Single(set));
        Assert.Equal("x", set["a"]);
        Assert.False(set.Contains("b"));
        Assert.Null(set["c"]);
        Assert.Same(LabelSet.Empty, LabelSet.Create(new Label("a", "")));
        Assert.Same(LabelSet.Empty, LabelSet.Create());
    }

    [Fact]
    public void Create_SortsByNameOrdinal()
    {
        var set = LabelSet.Create(new Label("b", "1"), new Label("_z", "2"), new Label("B", "3"), new Label("a", "4"), new Label("a1", "5"));

        var names = new List<string>();
        foreach (var label in set)
        {
            names.Add(label.Name);
        }

        // Ordinal: uppercase < '_' < lowercase.
        Assert.Equal(["B", "_z", "a", "a1", "b"], names);
        Assert.Equal("{B=\"3\", _z=\"2\", a=\"4\", a1=\"5\", b=\"1\"}", set.ToString());
        Assert.Equal("a", set[2].Name);
        Assert.Equal(names, set.Select(l => l.Name));
    }

    [Fact]
    public void Create_FromPairs_SortsAndDropsEmpty()
    {
        var set = LabelSet.Create(new Dictionary<string, string> { ["job"] = "api", ["env"] = "prod", ["x"] = "" });

        Assert.Equal("{env=\"prod\", job=\"api\"}", set.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("1abc")]
    [InlineData("a-b")]
    [InlineData("a b")]
    [InlineData("é")]
    [InlineData("a.b")]
    public void Create_InvalidName_ThrowsArgumentExceptionNamingTheLabel(string name)
    {
        var exception = Assert.Throws<ArgumentException>(() => LabelSet.Create(new Label("ok", "1"), new Label(name, "v")));
        Assert.Contains($"'{name}'", exception.Message, StringComparison.Ordinal);

        Assert.False(LabelSet.TryCreate([new Label(name, "v")], out var set, out var error));
        Assert.Null(set);
        Assert.Equal($"invalid label name '{name}'", error);
    }

    [Fact]
    public void Create_InvalidNameWithEmptyValue_StillThrows()
    {
        Assert.Throws<ArgumentException>(() => LabelSet.Create(new Label("1bad", "")));
        Assert.Throws<ArgumentException>(() => LabelSet.Create(new Label("a", "x"), new Label("1bad", "")));
    }

    [Fact]
    public void Create_DuplicateName_Throws()
    {
        var exception = Assert.Throws<ArgumentException>(() => LabelSet.Create(new Label("a", "1"), new Label("b", "2"), new Label("a", "3")));
        Assert.Contains("duplicate label name 'a'", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_EscapesBackslashQuoteNewlineOnly()
    {
        var set = LabelSet.Create(new Label("a", "back\\slash \"quoted\"\nnext\ttab\rcr é"));

        // Prometheus text exposition escaping: \\, \", \n; everything else as is.
        Assert.Equal("{a=\"back\\\\slash \\\"quoted\\\"\\nnext\ttab\rcr é\"}", set.ToString());
        Assert.Equal("a=\"back\\\\slash \\\"quoted\\\"\\nnext\ttab\rcr é\"", set[0].ToString());
        Assert.Same(set.ToString(), set.ToString());
    }

    [Fact]
    public void RoundTrip_GeneratedSets_ParseOfToStringIsEqual()
    {
        var random = new Random(12345);
        for (var iteration = 0; iteration < 2000; iteration++)
        {
            var count = random.Next(0, 20);
            var labels = new Label[count];
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                string name;
                do
                {
                    name = RandomName(random);
                }
                while (!names.Add(name));

                labels[i] = new Label(name, RandomValue(random));
            }

            var set = LabelSet.Create(labels);
            var text = set.ToString();
            var parsed = LabelSet.Parse(text);

            Assert.Equal(set, parsed);
            Assert.Equal(set.Fingerprint, parsed.Fingerprint);
            Assert.Equal(text, parsed.ToString());
            for (var i = 0; i < count; i++)
            {
                var expected = labels[i].Value.Length == 0 ? null : labels[i].Value;
                Assert.Equal(expected, parsed[labels[i].Name]);
            }
        }
    }

    [Fact]
    public void TenThousandLabels_ParseFormatAndLookup()
    {
        var builder = new StringBuilder("{");
        for (var i = 9_999; i >= 0; i--)
        {
            builder.Append("label_").Append(i).Append("=\"value \\\"").Append(i).Append("\\\"\",");
        }

        builder.Append('}');

        var set = LabelSet.Parse(builder.ToString());

        Assert.Equal(10_000, set.Count);
        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(set.TryGetValue("label_" + i, out var value));
            Assert.Equal($"value \"{i}\"", value);
        }

        Assert.False(set.Contains("label_10000"));
        Assert.False(set.Contains("label_"));
        Assert.False(set.Contains("a"));
        Assert.False(set.Contains("zzz"));
        for (var i = 1; i < set.Count; i++)
        {
            Assert.True(string.CompareOrdinal(set[i - 1].Name, set[i].Name) < 0);
        }

        var text = set.ToString();
        Assert.StartsWith("{label_0=\"value \\\"0\\\"\", label_1=\"value \\\"1\\\"\", label_10=", text, StringComparison.Ordinal);
        Assert.Equal(set, LabelSet.Parse(text));
    }

    [Fact]
    public void TenThousandLabels_DuplicateAtTheEnd_IsReported()
    {
        var builder = new StringBuilder("{");
        for (var i = 0; i < 10_000; i++)
        {
            builder.Append('n').Append(i).Append("=\"v\", ");
        }

        builder.Append("n5000=\"again\"}");

        Assert.False(LabelSet.TryParse(builder.ToString(), out _, out var error));
        Assert.Equal("duplicate label name 'n5000'", error);
    }

    [Fact]
    public void Fingerprint_SameLabelsInDifferentOrder_AreEqual()
    {
        var a = LabelSet.Create(new Label("job", "api"), new Label("env", "prod"), new Label("pod", "p-1"));
        var b = LabelSet.Create(new Label("pod", "p-1"), new Label("job", "api"), new Label("env", "prod"));
        var c = LabelSet.Parse("{env=\"prod\",pod=\"p-1\",job=\"api\"}");
        var d = new LabelSetBuilder().Set("pod", "p-1").Set("env", "prod").Set("job", "api").Build();

        Assert.Equal(a.Fingerprint, b.Fingerprint);
        Assert.Equal(a.Fingerprint, c.Fingerprint);
        Assert.Equal(a.Fingerprint, d.Fingerprint);
        Assert.Equal(a, b);
        Assert.Equal(a, c);
        Assert.Equal(a, d);
        Assert.Equal(a.GetHashCode(), d.GetHashCode());
        Assert.True(a == c);
        Assert.False(a != c);
    }

    [Theory]
    [InlineData("{a=\"bc\"}", "{ab=\"c\"}")]
    [InlineData("{a=\"b\", c=\"d\"}", "{a=\"bc\", d=\"\"}")]
    [InlineData("{a=\"b\"}", "{a=\"c\"}")]
    [InlineData("{a=\"b\"}", "{b=\"b\"}")]
    [InlineData("{a=\"b\"}", "{a=\"b\", c=\"d\"}")]
    [InlineData("{a=\"b\"}", "{}")]
    [InlineData("{a=\"\\u0100\"}", "{a=\"\\u0001\"}")]
    [InlineData("{a=\"b\", c=\"d\"}", "{a=\"d\", c=\"b\"}")]
    public void Fingerprint_DifferentSets_Differ(string left, string right)
    {
        var a = LabelSet.Parse(left);
        var b = LabelSet.Parse(right);

        Assert.NotEqual(a.Fingerprint, b.Fingerprint);
        Assert.NotEqual(a, b);
        Assert.False(a == b);
        Assert.True(a != b);
    }

    [Fact]
    public void Fingerprint_IsStableAcrossProcesses()
    {
        // FNV-1a over the UTF-16 units; a fixed value guards against accidental use of randomized hashing.
        Assert.Equal(14695981039346656037UL, LabelSet.Empty.Fingerprint);
        var one = LabelSet.Parse("{a=\"b\"}");
        Assert.Equal(LabelSet.Parse("{a=\"b\"}").Fingerprint, one.Fingerprint);
        Assert.Equal(ExpectedFnv([("a", "b")]), one.Fingerprint);
    }

    [Fact]
    public void Equality_HandlesNullAndOtherTypes()
    {
        var set = LabelSet.Parse("{a=\"b\"}");
        LabelSet? none = null;

        Assert.False(set.Equals(null));
        Assert.False(set.Equals((object)"{a=\"b\"}"));
        Assert.True(set.Equals((object)LabelSet.Parse("{a=\"b\"}")));
        Assert.False(set == none);
        Assert.False(none == set);
        Assert.True(none == null);
        Assert.True(set != none);

        var dictionary = new Dictionary<LabelSet, int> { [set] = 1 };
        Assert.Equal(1, dictionary[LabelSet.Create(new Label("a", "b"))]);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(50)]
    public void TryGetValue_FindsEveryLabelAndRejectsAbsentOnes(int count)
    {
        var labels = new Label[count];
        for (var i = 0; i < count; i++)
        {
            labels[i] = new Label($"k{i:D3}", $"v{i}");
        }

        var set = LabelSet.Create(labels);

        for (var i = 0; i < count; i++)
        {
            Assert.True(set.TryGetValue($"k{i:D3}", out var value));
            Assert.Equal($"v{i}", value);
            Assert.Equal($"v{i}", set[$"k{i:D3}"]);
            Assert.True(set.Contains($"k{i:D3}"));
        }

        foreach (var absent in new[] { "", "a", "k", "k00", "k0000", $"k{count:D3}", "k999", "z", "K000" })
        {
            Assert.False(set.TryGetValue(absent, out var value));
            Assert.Null(value);
            Assert.Null(set[absent]);
            Assert.False(set.Contains(absent));
        }
    }

    [Fact]
    public void Indexer_ByPosition_OutOfRange_Throws()
    {
        var set = LabelSet.Parse("{a=\"b\"}");

        Assert.Throws<IndexOutOfRangeException>(() => set[1]);
        Assert.Throws<IndexOutOfRangeException>(() => set[-1]);
    }

    [Fact]
    public void WithoutInternal_NoInternalLabels_ReturnsSameInstance()
    {
        var set = LabelSet.Parse("{a=\"b\", _c=\"d\"}");

        Assert.False(set.HasInternal);
        Assert.Same(set, set.WithoutInternal());
        Assert.Same(LabelSet.Empty, LabelSet.Empty.WithoutInternal());
    }

    [Fact]
    public void WithoutInternal_RemovesDoubleUnderscoreLabels()
    {
        var set = LabelSet.Parse("{__path__=\"/x\", a=\"b\", __meta_kubernetes_pod_name=\"p\", _c=\"d\"}");

        var stripped = set.WithoutInternal();

        Assert.True(set.HasInternal);
        Assert.False(stripped.HasInternal);
        Assert.Equal("{_c=\"d\", a=\"b\"}", stripped.ToString());
        Assert.Equal(LabelSet.Parse("{a=\"b\", _c=\"d\"}").Fingerprint, stripped.Fingerprint);
        Assert.Same(LabelSet.Empty, LabelSet.Parse("{__a=\"1\"}").WithoutInternal());
    }

    [Fact]
    public void ToBuilder_StartsFromThisSet()
    {
        var set = LabelSet.Parse("{a=\"b\"}");

        Assert.Same(set, set.ToBuilder().Build());
        Assert.Equal("{a=\"b\", c=\"d\"}", set.ToBuilder().Set("c", "d").Build().ToString());
    }

    private static ulong ExpectedFnv((string Name, string Value)[] labels)
    {
        var hash = 14695981039346656037UL;
        foreach (var (name, value) in labels)
        {
            foreach (var c in name)
            {
                hash = (hash ^ (byte)c) * 1099511628211UL;
                hash = (hash ^ (byte)(c >> 8)) * 1099511628211UL;
            }

            hash = (hash ^ 0xff) * 1099511628211UL;
            foreach (var c in value)
            {
                hash = (hash ^ (byte)c) * 1099511628211UL;
                hash = (hash ^ (byte)(c >> 8)) * 1099511628211UL;
            }

            hash = (hash ^ 0xfe) * 1099511628211UL;
        }

        return hash;
    }

    private static string RandomName(Random random)
    {
        const string First = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
        const string Rest = First + "0123456789";
        var length = random.Next(1, 12);
        var chars = new char[length];
        chars[0] = First[random.Next(First.Length)];
        for (var i = 1; i < length; i++)
        {
            chars[i] = Rest[random.Next(Rest.Length)];
        }

        return new string(chars);
    }

    private static string RandomValue(Random random)
    {
        var length = random.Next(0, 24);
        var builder = new StringBuilder(length * 2);
        for (var i = 0; i < length; i++)
        {
            switch (random.Next(10))
            {
                case 0: builder.Append('"'); break;
                case 1: builder.Append('\\'); break;
                case 2: builder.Append('\n'); break;
                case 3: builder.Append(" \t\r{},="[random.Next(7)]); break;
                case 4: builder.Append((char)random.Next(0x20, 0x7f)); break;
                case 5: builder.Append((char)random.Next(0, 0x20)); break;
                default:
                    int code;
                    do
                    {
                        code = random.Next(0x80, 0x110000);
                    }
                    while (!Rune.IsValid(code));

                    builder.Append(new Rune(code).ToString());
                    break;
            }
        }

        return builder.ToString();
    }
}
