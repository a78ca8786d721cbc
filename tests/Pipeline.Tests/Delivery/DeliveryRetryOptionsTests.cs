using Pipeline.Delivery;

namespace Pipeline.Tests.Delivery;

public class DeliveryRetryOptionsTests
{
    [Theory]
    [InlineData(0, DeliveryFailureKind.Retryable)]
    [InlineData(200, DeliveryFailureKind.None)]
    [InlineData(204, DeliveryFailureKind.None)]
    [InlineData(400, DeliveryFailureKind.Permanent)]
    [InlineData(401, DeliveryFailureKind.Permanent)]
    [InlineData(413, DeliveryFailureKind.Permanent)]
    [InlineData(429, DeliveryFailureKind.Retryable)]
    [InlineData(500, DeliveryFailureKind.Retryable)]
    [InlineData(503, DeliveryFailureKind.Retryable)]
    public void Classify_NetworkAnd429And5xxRetry_Other4xxArePermanent(int status, DeliveryFailureKind expected) =>
        Assert.Equal(expected, DeliveryClassifier.Classify(status));

    [Fact]
    public void Delay_WithJitter_StaysBetweenBackoffAndOneAndAHalfTimesIt_AndUnderTheCap()
    {
        var options = new DeliveryRetryOptions { MinBackoff = TimeSpan.FromMilliseconds(500), MaxBackoff = TimeSpan.FromSeconds(5) };
        for (var i = 0; i < 200; i++)
        {
            Assert.InRange(options.Delay(0, null), TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(750));
            Assert.InRange(options.Delay(10, null), TimeSpan.FromSeconds(3.75), TimeSpan.FromSeconds(5));
        }
    }

    [Fact]
    public void Delay_RetryAfter_IsBelievedUpToTheCeiling()
    {
        var options = new DeliveryRetryOptions { MaxBackoff = TimeSpan.FromSeconds(5) };

        Assert.Equal(TimeSpan.FromSeconds(30), options.Delay(0, TimeSpan.FromSeconds(30)));
        Assert.Equal(DeliveryRetryOptions.DefaultMaxRetryAfter, options.Delay(0, TimeSpan.FromHours(2)));
        Assert.Equal(TimeSpan.Zero, options.Delay(0, TimeSpan.FromSeconds(-3)));
    }

    [Fact]
    public void Validate_RejectsInvertedBackoffAndNegativeRetries()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new DeliveryRetryOptions { MinBackoff = TimeSpan.FromSeconds(2), MaxBackoff = TimeSpan.FromSeconds(1) }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new DeliveryRetryOptions { MaxRetries = -1 }.Validate());
    }
}
