// Embedded use: the app's own ILogger output goes through a log pipeline to Loki, in-process, with no agent.
//   dotnet run --project samples/EmbeddedApp -- --url http://127.0.0.1:3100/loki/api/v1/push
// (or LOKI_URL=...). The app logs a few lines, then stops; stopping the host drains the pipeline, so every
// line is pushed before the process exits.
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pipeline.Hosting;
using Pipeline.Loki.Push;
using Pipeline.Samples.EmbeddedApp;

const string DefaultUrl = "http://127.0.0.1:3100/loki/api/v1/push";

var builder = Host.CreateApplicationBuilder(args);
var url = builder.Configuration["url"] ?? builder.Configuration["LOKI_URL"] ?? DefaultUrl;
if (!Uri.TryCreate(url, UriKind.Absolute, out var pushUrl) || (pushUrl.Scheme != Uri.UriSchemeHttp && pushUrl.Scheme != Uri.UriSchemeHttps))
{
    await Console.Error.WriteLineAsync($"--url '{url}' is not an http or https URL, e.g. {DefaultUrl}");
    return 2;
}

builder.Logging.AddPipeline(o =>
{
    o.Labels["app"] = "embedded-demo";
});
builder.Services.AddLogPipeline((sp, p) => p.To(new LokiPushSink(new LokiPushSinkOptions
{
    Url = pushUrl,
    BatchWait = TimeSpan.FromMilliseconds(200),
})));

// How long stopping may take to push what is still buffered (retrying while Loki is unreachable).
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));

using var host = builder.Build();
await host.StartAsync();

var orders = new OrderService(host.Services.GetRequiredService<ILogger<OrderService>>());
orders.Checkout(orderId: 42, amount: 19.99m);
orders.Checkout(orderId: 43, amount: -1m);

await host.StopAsync();
return 0;
