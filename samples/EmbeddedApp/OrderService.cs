using Microsoft.Extensions.Logging;

namespace Pipeline.Samples.EmbeddedApp;

/// <summary>Stands in for the app's real work: logs within a scope, and logs a failure with its exception.</summary>
internal sealed partial class OrderService(ILogger<OrderService> logger)
{
    public void Checkout(int orderId, decimal amount)
    {
        using var scope = logger.BeginScope("order {OrderId}", orderId);
        LogCheckoutStarted(orderId);
        try
        {
            Charge(amount);
            LogCheckoutCompleted(orderId, amount);
        }
        catch (InvalidOperationException ex)
        {
            LogCheckoutFailed(ex, orderId);
        }
    }

    private static void Charge(decimal amount)
    {
        if (amount <= 0)
        {
            throw new InvalidOperationException($"payment declined: amount {amount} is not positive");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "checkout started for order {OrderId}")]
    private partial void LogCheckoutStarted(int orderId);

    [LoggerMessage(Level = LogLevel.Information, Message = "checkout completed for order {OrderId}: {Amount}")]
    private partial void LogCheckoutCompleted(int orderId, decimal amount);

    [LoggerMessage(Level = LogLevel.Error, Message = "checkout failed for order {OrderId}")]
    private partial void LogCheckoutFailed(Exception exception, int orderId);
}
