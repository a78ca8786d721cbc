using Pipeline.Aggregator.LogQL;

namespace Pipeline.Aggregator.Tests.LogQL;

public sealed class QuantileWindowTests
{
    [Theory]
    [InlineData(0.5, 3)]
    [InlineData(0.25, 2)]
    [InlineData(0.9, 4.6)]
    [InlineData(0, 1)]
    [InlineData(1, 5)]
    [InlineData(-0.1, double.NegativeInfinity)]
    [InlineData(1.1, double.PositiveInfinity)]
    public void FewSamples_ExactAsPrometheus(double q, double expected)
    {
        var window = new QuantileWindow();
        foreach (var v in new double[] { 5, 1, 4, 2, 3 })
        {
            window.Add(v);
        }

        Assert.Equal(expected, window.Quantile(q), 9);
    }

    public static TheoryData<string> Distributions() => ["uniform", "exponential", "mixed-sign", "with-zeros", "heavy-tail"];

    [Theory]
    [MemberData(nameof(Distributions))]
    public void ManySamples_WithinRelativeErrorOfExact(string distribution)
    {
        var random = new Random(42);
        var values = new double[200_000];
        for (var i = 0; i < values.Length; i++)
        {
            var u = random.NextDouble();
            values[i] = distribution switch
            {
                "uniform" => u * 1000,
                "exponential" => -Math.Log(1 - u) * 50,
                "mixed-sign" => (u - 0.5) * 2000,
                "with-zeros" => i % 3 == 0 ? 0 : u * 10,
                _ => Math.Pow(10, u * 12) * 1e-3,
            };
        }

        var window = new QuantileWindow();
        foreach (var v in values)
        {
            window.Add(v);
        }

        Array.Sort(values);
        foreach (var q in new[] { 0.01, 0.1, 0.5, 0.9, 0.99, 0.999 })
        {
            var rank = q * (values.Length - 1);
            var lower = (int)Math.Floor(rank);
            var exact = values[lower] + ((values[Math.Min(lower + 1, values.Length - 1)] - values[lower]) * (rank - lower));
            var approx = window.Quantile(q);
            Assert.True(Math.Abs(approx - exact) <= (QuantileWindow.RelativeError * Math.Abs(exact)) + 1e-9, $"q={q}: {approx} vs exact {exact}");
        }
    }

    [Fact]
    public void ExtremeSpan_LowestCollapsed_HighQuantilesStillWithinError()
    {
        var random = new Random(7);
        var values = new double[100_000];
        var window = new QuantileWindow();
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = Math.Pow(10, (random.NextDouble() * 600) - 300);
            window.Add(values[i]);
        }

        Array.Sort(values);
        foreach (var q in new[] { 0.99, 0.999 })
        {
            var rank = q * (values.Length - 1);
            var lower = (int)Math.Floor(rank);
            var exact = values[lower] + ((values[lower + 1] - values[lower]) * (rank - lower));
            Assert.True(Math.Abs(window.Quantile(q) - exact) <= QuantileWindow.RelativeError * exact, $"q={q}");
        }

        Assert.True(window.Quantile(0) > 0);
    }

    [Fact]
    public void NaNAndInfinities_SortedAsGo()
    {
        var window = new QuantileWindow();
        for (var i = 0; i < 1000; i++)
        {
            window.Add(i);
        }

        window.Add(double.NaN);
        window.Add(double.PositiveInfinity);
        Assert.True(double.IsNaN(window.Quantile(0)));
        Assert.Equal(double.PositiveInfinity, window.Quantile(1));
    }
}
