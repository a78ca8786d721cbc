using BenchmarkDotNet.Running;

// Run all: dotnet run -c Release --project benchmarks/Pipeline.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>Entry point holder for BenchmarkSwitcher.</summary>
public partial class Program;
