using Berth.Agent.Hosting;
using Microsoft.Extensions.Hosting;

// The Berth agent: registers this host with the scheduler, keeps one session to it, and converges the local
// Docker engine to the tasks the scheduler wants here. Configuration: /etc/berth/agent.json, BERTH_* variables,
// command line (see docs/agent.md).
var builder = Host.CreateApplicationBuilder(args);
builder.AddAgentConfiguration(args);
builder.AddAgentServices();
var host = builder.Build();
await host.RunAsync();
