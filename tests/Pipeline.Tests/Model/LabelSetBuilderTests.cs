using Pipeline.Model;

namespace Pipeline.Tests.Model;

public sealed class LabelSetBuilderTests
{
    [Fact]
    public void Build_NothingChanged_ReturnsSameInstance()
    {
        var start = LabelSet.Parse("{a=\"1\", b=\"2\"}");
        var builder = new LabelSetBuilder(start);

        Assert.Same(start, builder.Build());
        Assert.Same(start, builder.Set("a", "1").Build());
        Assert.Same(start, builder.Remove("missing").Build());
        Assert.Same(start, builder.RemoveWhere(static l => l.Name == "zzz").Build());
        Assert.Same(start, builder.Set("missing", "").Build());
        Assert.Same(start, builder.Set("missing", null).Build());
    }

    [Fact]
    public void Build_FromNothing_ReturnsEmptySingleton()
    {
        Assert.Same(LabelSet.Empty, new LabelSetBuilder().Build());
        Assert.Same(LabelSet.Empty, new LabelSetBuilder(null).Build());
    }

    [Fact]
    public void Set_AddsInSortedOrder()
    {
        var set = new LabelSetBuilder()
            .Set("m", "1")
            .Set("a", "2")
            .Set("z", "3")
            .Set("B", "4")
            .Set("_x", "5")
            .Build();

        Assert.Equal("{B=\"4\", _x=\"5\", a=\"2\", m=\"1\", z=\"3\"}", set.ToString());
        Assert.Equal(LabelSet.Parse(set.ToString()).Fingerprint, set.Fingerprint);
    }

    [Fact]
    public void Set_ExistingName_ReplacesValue()
    {
        var start = LabelSet.Parse("{a=\"1\", b=\"2\"}");
        var builder = start.ToBuilder().Set("a", "changed");

        Assert.Equal("changed", builder.Get("a"));
        Assert.Equal(2, builder.Count);
        var built = builder.Build();
        Assert.Equal("{a=\"changed\", b=\"2\"}", built.ToString());
        Assert.Equal("{a=\"1\", b=\"2\"}", start.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    public void Set_EmptyValue_RemovesLabel(string? value)
    {
        var builder = LabelSet.Parse("{a=\"1\", b=\"2\"}").ToBuilder();

        builder.Set("a", value);

        Assert.Null(builder.Get("a"));
        Assert.Equal(1, builder.Count);
        Assert.Equal("{b=\"2\"}", builder.Build().ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("1a")]
    [InlineData("a-b")]
    [InlineData("a b")]
    [InlineData("ü")]
    public void Set_InvalidName_ThrowsNamingIt(string name)
    {
        var builder = new LabelSetBuilder();

        var exception = Assert.Throws<ArgumentException>(() => builder.Set(name, "v"));

        Assert.Equal("name", exception.ParamName);
        Assert.Contains($"'{name}'", exception.Message, StringComparison.Ordinal);
        Assert.Equal(0, builder.Count);
        Assert.Same(LabelSet.Empty, builder.Build());
    }

    [Fact]
    public void Remove_PresentAndAbsent()
    {
        var builder = LabelSet.Parse("{a=\"1\", b=\"2\", c=\"3\"}").ToBuilder();

        builder.Remove("b").Remove("nope");

        Assert.Equal(2, builder.Count);
        Assert.Null(builder.Get("b"));
        Assert.Equal("{a=\"1\", c=\"3\"}", builder.Build().ToString());
    }

    [Fact]
    public void RemoveWhere_RemovesMatching()
    {
        var builder = LabelSet.Parse("{__path__=\"/x\", __meta_a=\"y\", job=\"j\", _z=\"1\"}").ToBuilder();

        builder.RemoveWhere(static l => l.IsInternal);

        Assert.Equal("{_z=\"1\", job=\"j\"}", builder.Build().ToString());
    }

    [Fact]
    public void RemoveThenSetBack_ProducesEqualButNewSet()
    {
        var start = LabelSet.Parse("{a=\"1\", b=\"2\"}");

        var built = start.ToBuilder().Remove("a").Set("a", "1").Build();

        Assert.Equal(start, built);
        Assert.Equal(start.Fingerprint, built.Fingerprint);
    }

    [Fact]
    public void Build_Twice_SnapshotsAreIndependent()
    {
        var builder = new LabelSetBuilder().Set("a", "1");
        var first = builder.Build();
        var second = builder.Set("b", "2").Build();

        Assert.Equal("{a=\"1\"}", first.ToString());
        Assert.Equal("{a=\"1\", b=\"2\"}", second.ToString());
    }

    [Fact]
    public void Reset_ReusesBuilderFromNewStart()
    {
        var builder = new LabelSetBuilder(LabelSet.Parse("{a=\"1\"}")).Set("b", "2");
        var other = LabelSet.Parse("{x=\"9\", y=\"8\"}");

        Assert.Same(builder, builder.Reset(other));
        Assert.Equal(2, builder.Count);
        Assert.Null(builder.Get("a"));
        Assert.Null(builder.Get("b"));
        Assert.Equal("9", builder.Get("x"));
        Assert.Same(other, builder.Build());

        builder.Set("z", "7");
        Assert.Equal("{x=\"9\", y=\"8\", z=\"7\"}", builder.Build().ToString());

        builder.Reset(LabelSet.Empty);
        Assert.Same(LabelSet.Empty, builder.Build());
        Assert.Throws<ArgumentNullException>(() => builder.Reset(null!));
    }

    [Fact]
    public void ManyLabels_SetGetRemove()
    {
        var builder = new LabelSetBuilder();
        for (var i = 999; i >= 0; i--)
        {
            builder.Set("n" + i, "v" + i);
        }

        for (var i = 0; i < 1000; i += 2)
        {
            builder.Remove("n" + i);
        }

        var set = builder.Build();

        Assert.Equal(500, set.Count);
        for (var i = 0; i < 1000; i++)
        {
            Assert.Equal(i % 2 == 1 ? "v" + i : null, set["n" + i]);
        }

        for (var i = 1; i < set.Count; i++)
        {
            Assert.True(string.CompareOrdinal(set[i - 1].Name, set[i].Name) < 0);
        }
    }
}
