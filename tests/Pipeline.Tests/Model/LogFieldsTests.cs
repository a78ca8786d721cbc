using System.Text;
using Pipeline.Model;

namespace Pipeline.Tests.Model;

public sealed class LogFieldsTests
{
    [Fact]
    public void New_IsEmpty()
    {
        var fields = new LogFields();

        Assert.Equal(0, fields.Count);
        Assert.False(fields.TryGetValue("a", out var value));
        Assert.True(value.IsEmpty);
        Assert.False(fields.TryGetString("a", out var text));
        Assert.Null(text);
        Assert.False(fields.Contains("a"));
        Assert.False(fields.Remove("a"));
    }

    [Fact]
    public void Set_BytesAndChars_ReadBack()
    {
        var fields = new LogFields();

        fields.Set("bytes", "abc"u8);
        fields.Set("chars", "héllo 漢字 😀".AsSpan());
        fields.Set("empty", ReadOnlySpan<byte>.Empty);

        Assert.Equal(3, fields.Count);
        Assert.True(fields.TryGetValue("bytes", out var bytes));
        Assert.Equal("abc"u8.ToArray(), bytes.ToArray());
        Assert.True(fields.TryGetValue("chars", out var chars));
        Assert.Equal(Encoding.UTF8.GetBytes("héllo 漢字 😀"), chars.ToArray());
        Assert.True(fields.TryGetString("chars", out var text));
        Assert.Equal("héllo 漢字 😀", text);
        Assert.True(fields.TryGetValue("empty", out var empty));
        Assert.True(empty.IsEmpty);
        Assert.True(fields.Contains("empty"));
        Assert.Equal(["bytes", "chars", "empty"], Names(fields));
    }

    [Fact]
    public void Set_LongChars_UsesRentedBufferPath()
    {
        var fields = new LogFields();
        var value = string.Concat(Enumerable.Repeat("é😀x", 500));

        fields.Set("long", value.AsSpan());

        Assert.True(fields.TryGetString("long", out var text));
        Assert.Equal(value, text);
    }

    [Fact]
    public void Set_NullName_Throws()
    {
        var fields = new LogFields();

        Assert.Throws<ArgumentNullException>(() => fields.Set(null!, "x"u8));
    }

    [Fact]
    public void Set_NamesAreOrdinal()
    {
        var fields = new LogFields();
        fields.Set("Level", "A"u8);
        fields.Set("level", "b"u8);
        fields.Set(new string(['l', 'e', 'v', 'e', 'l']), "c"u8);

        Assert.Equal(2, fields.Count);
        Assert.Equal("A", Get(fields, "Level"));
        Assert.Equal("c", Get(fields, "level"));
    }

    [Fact]
    public void Overwrite_ShorterThenLonger_KeepsOtherFieldsIntact()
    {
        var fields = new LogFields();
        fields.Set("a", "aaaaaaaa"u8);
        fields.Set("b", "bbbb"u8);
        fields.Set("c", "cc"u8);

        fields.Set("b", "x"u8);
        Assert.Equal("x", Get(fields, "b"));

        fields.Set("b", "yyyyyyyyyyyyyyyyyyyy"u8);
        Assert.Equal("yyyyyyyyyyyyyyyyyyyy", Get(fields, "b"));

        fields.Set("a", ""u8);
        Assert.Equal("", Get(fields, "a"));
        fields.Set("a", "back"u8);

        Assert.Equal("back", Get(fields, "a"));
        Assert.Equal("yyyyyyyyyyyyyyyyyyyy", Get(fields, "b"));
        Assert.Equal("cc", Get(fields, "c"));
        Assert.Equal(["a", "b", "c"], Names(fields));
    }

    [Fact]
    public void Overwrite_ManyTimes_GrowsArenaAndKeepsValues()
    {
        var fields = new LogFields();
        fields.Set("fixed", "constant"u8);
        for (var i = 1; i <= 2000; i++)
        {
            fields.Set("grow", Encoding.UTF8.GetBytes(new string('g', i)));
        }

        Assert.Equal(new string('g', 2000), Get(fields, "grow"));
        Assert.Equal("constant", Get(fields, "fixed"));
    }

    [Fact]
    public void Set_ValueFromAnotherFieldOfSameMap_IsCopied()
    {
        var fields = new LogFields();
        fields.Set("source", "the source value"u8);

        Assert.True(fields.TryGetValue("source", out var source));
        fields.Set("target", source);

        Assert.Equal("the source value", Get(fields, "target"));
        Assert.Equal("the source value", Get(fields, "source"));
    }

    [Fact]
    public void Set_ValueFromAnotherField_WhenArenaMustGrow_IsCopiedBeforeOldArenaIsReturned()
    {
        for (var size = 1; size < 600; size += 37)
        {
            var fields = new LogFields();
            var expected = new string('s', size);
            fields.Set("source", Encoding.UTF8.GetBytes(expected));

            // Repeat so that at least one copy forces the arena to grow while the value lives in the old arena.
            for (var i = 0; i < 8; i++)
            {
                Assert.True(fields.TryGetValue(i == 0 ? "source" : "t" + (i - 1), out var value));
                fields.Set("t" + i, value);
            }

            for (var i = 0; i < 8; i++)
            {
                Assert.Equal(expected, Get(fields, "t" + i));
            }

            Assert.Equal(expected, Get(fields, "source"));
        }
    }

    [Fact]
    public void Set_OverwriteWithSliceOfItself_InPlace()
    {
        var fields = new LogFields();
        fields.Set("a", "0123456789"u8);

        Assert.True(fields.TryGetValue("a", out var value));
        fields.Set("a", value[3..7]);
        Assert.Equal("3456", Get(fields, "a"));

        Assert.True(fields.TryGetValue("a", out value));
        fields.Set("a", value[1..]);
        Assert.Equal("456", Get(fields, "a"));
    }

    [Fact]
    public void Set_OverwriteWithLongerValueFromOtherField()
    {
        var fields = new LogFields();
        fields.Set("short", "s"u8);
        fields.Set("long", "a much longer value"u8);

        Assert.True(fields.TryGetValue("long", out var value));
        fields.Set("short", value);

        Assert.Equal("a much longer value", Get(fields, "short"));
        Assert.Equal("a much longer value", Get(fields, "long"));
    }

    [Fact]
    public void Set_OverwriteWithShorterValueFromOtherField()
    {
        var fields = new LogFields();
        fields.Set("long", "a much longer value"u8);
        fields.Set("short", "xyz"u8);

        Assert.True(fields.TryGetValue("short", out var value));
        fields.Set("long", value);

        Assert.Equal("xyz", Get(fields, "long"));
        Assert.Equal("xyz", Get(fields, "short"));
    }

    [Fact]
    public void Remove_KeepsOrderOfRemainingFields()
    {
        var fields = new LogFields();
        foreach (var name in new[] { "a", "b", "c", "d", "e" })
        {
            fields.Set(name, Encoding.UTF8.GetBytes(name + name));
        }

        Assert.True(fields.Remove("b"));
        Assert.True(fields.Remove("e"));
        Assert.True(fields.Remove("a"));
        Assert.False(fields.Remove("a"));

        Assert.Equal(["c", "d"], Names(fields));
        Assert.Equal("cc", Encoding.UTF8.GetString(fields.ValueAt(0)));
        Assert.Equal("dd", Encoding.UTF8.GetString(fields.ValueAt(1)));
        Assert.False(fields.Contains("b"));

        fields.Set("b", "new"u8);
        Assert.Equal(["c", "d", "b"], Names(fields));
        Assert.Equal("new", Get(fields, "b"));
    }

    [Fact]
    public void IndexAccessors_OutOfRange_Throw()
    {
        var fields = new LogFields();
        fields.Set("a", "1"u8);

        Assert.Throws<ArgumentOutOfRangeException>(() => fields.NameAt(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => fields.NameAt(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => fields.ValueAt(1).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => fields.ValueAt(-1).Length);
    }

    [Fact]
    public void Clear_ThenReuse()
    {
        var fields = new LogFields();
        for (var round = 0; round < 5; round++)
        {
            for (var i = 0; i < 10; i++)
            {
                fields.Set("f" + i, Encoding.UTF8.GetBytes($"r{round}v{i}"));
            }

            Assert.Equal(10, fields.Count);
            for (var i = 0; i < 10; i++)
            {
                Assert.Equal($"r{round}v{i}", Get(fields, "f" + i));
            }

            fields.Clear();
            Assert.Equal(0, fields.Count);
            Assert.False(fields.Contains("f0"));
        }
    }

    [Fact]
    public void CopyFrom_ReplacesContents()
    {
        var source = new LogFields();
        source.Set("a", "1"u8);
        source.Set("b", "two"u8);
        var target = new LogFields();
        target.Set("old", "gone"u8);
        target.Set("a", "zzzzzzzzz"u8);

        target.CopyFrom(source);

        Assert.Equal(["a", "b"], Names(target));
        Assert.Equal("1", Get(target, "a"));
        Assert.Equal("two", Get(target, "b"));

        // The copy is independent of the source.
        source.Set("a", "changed"u8);
        Assert.Equal("1", Get(target, "a"));
    }

    [Fact]
    public void CopyFrom_SelfAndEmpty()
    {
        var fields = new LogFields();
        fields.Set("a", "1"u8);

        fields.CopyFrom(fields);
        Assert.Equal("1", Get(fields, "a"));

        fields.CopyFrom(new LogFields());
        Assert.Equal(0, fields.Count);
        Assert.Throws<ArgumentNullException>(() => fields.CopyFrom(null!));
    }

    [Fact]
    public void ManyFields_GrowSlotsAndArena()
    {
        var fields = new LogFields();
        for (var i = 0; i < 500; i++)
        {
            fields.Set("field_" + i, Encoding.UTF8.GetBytes("value_" + i));
        }

        Assert.Equal(500, fields.Count);
        for (var i = 0; i < 500; i++)
        {
            Assert.Equal("field_" + i, fields.NameAt(i));
            Assert.Equal("value_" + i, Get(fields, "field_" + i));
        }
    }

    [Fact]
    public void LargeValues_BeyondRetainedArena_ClearAndReuse()
    {
        var fields = new LogFields();
        var big = new byte[200 * 1024];
        new Random(7).NextBytes(big);

        for (var round = 0; round < 3; round++)
        {
            fields.Set("small", "s"u8);
            fields.Set("big", big);
            fields.Set("after", "a"u8);

            Assert.True(fields.TryGetValue("big", out var value));
            Assert.True(value.SequenceEqual(big));
            Assert.Equal("s", Get(fields, "small"));
            Assert.Equal("a", Get(fields, "after"));

            // Clear returns the oversized arena; the next round must start from a fresh one.
            fields.Clear();
            Assert.Equal(0, fields.Count);
        }

        fields.Set("x", "y"u8);
        Assert.Equal("y", Get(fields, "x"));
    }

    [Fact]
    public void LargeValue_CopyFromAnotherMap()
    {
        var source = new LogFields();
        var big = Encoding.UTF8.GetBytes(new string('b', 100_000));
        source.Set("big", big);
        var target = new LogFields();

        target.CopyFrom(source);

        Assert.True(target.TryGetValue("big", out var value));
        Assert.True(value.SequenceEqual(big));
    }

    private static string Get(LogFields fields, string name)
    {
        Assert.True(fields.TryGetValue(name, out var value), $"field '{name}' missing");
        return Encoding.UTF8.GetString(value);
    }

    private static List<string> Names(LogFields fields)
    {
        var names = new List<string>();
        for (var i = 0; i < fields.Count; i++)
        {
            names.Add(fields.NameAt(i));
        }

        return names;
    }
}
