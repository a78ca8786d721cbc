// The agent: dotnet run --project samples/Agent -- --config agent.yaml [-config.expand-env=true] [--dry-run]
return await Pipeline.Samples.Agent.AgentApp.RunAsync(args);
