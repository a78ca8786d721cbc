using System.Runtime.InteropServices;
using Pipeline.Samples.Demo;

// The README's main command: dotnet run --project samples/Demo
using var stop = new CancellationTokenSource();
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
return await DemoApp.RunAsync(args, Console.Out, cancellationToken: stop.Token);
