using Berth.Agent.Hosting;
using Berth.ServiceDefaults;

// The Berth agent: registers this host with the scheduler, keeps one session to it, and converges the local
// Docker engine to the tasks the scheduler wants here. Configuration: /etc/berth/agent.json, BERTH_* variables,
// command line (see docs/agent.md).
var builder = Host.CreateApplicationBuilder(args);
builder.AddAgentConfiguration(args);
builder.AddBerthDefaults();
// /healthz and /readyz on a plain TCP listener, only when --health-url is given: the agent stays off ASP.NET Core.
builder.AddBerthHealthListener();
builder.AddAgentServices();
var host = builder.Build();
await host.RunAsync();
