using System.Runtime.InteropServices;
using Aggregator;
using Microsoft.Extensions.Logging;
using Pipeline.Aggregator.Http;

// dotnet run --project samples/Aggregator -- --listen 127.0.0.1:3100 --data ./data [--config aggregator.yaml]
var options = new AggregatorServerOptions { DataDirectory = "./data" };
string? listen = null, data = null, config = null;
for (var i = 0; i < args.Length; i++)
{
    var next = i + 1 < args.Length ? args[i + 1] : null;
    switch (args[i])
    {
        case "--listen" when next is not null: listen = next; i++; break;
        case "--data" when next is not null: data = next; i++; break;
        case "--config" when next is not null: config = next; i++; break;
        case "-h" or "--help":
            Console.WriteLine("usage: Aggregator --listen 127.0.0.1:3100 --data ./data [--config aggregator.yaml]");
            return 0;
        default:
            Console.Error.WriteLine($"unknown or incomplete argument '{args[i]}'; try --help");
            return 2;
    }
}

try
{
    if (config is not null)
    {
        AggregatorConfig.Load(config, options);
    }

    // Command-line flags win over the file.
    options.ListenAddress = listen ?? options.ListenAddress;
    options.DataDirectory = data ?? options.DataDirectory;

    using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information).AddFilter("Microsoft.AspNetCore", LogLevel.Warning));
    await using var server = await AggregatorServer.StartAsync(options, loggerFactory: loggerFactory);
    Console.WriteLine($"aggregator ready on {server.BaseAddress} (data in {Path.GetFullPath(options.DataDirectory)}); explore page: {server.BaseAddress}");

    // SIGTERM (Kubernetes) and Ctrl+C: stop taking requests, flush chunks, close the WAL.
    var stop = new TaskCompletionSource();
    using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
    using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
    await stop.Task;
    Console.WriteLine("stopping: flushing chunks");
    await server.StopAsync();
    return 0;
}
catch (Exception ex) when (ex is ArgumentException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"aggregator: {ex.Message}");
    return 1;
}
