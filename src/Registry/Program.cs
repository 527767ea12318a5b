using Berth.Registry;
using Berth.Registry.Auth;
using Berth.ServiceDefaults;
using Berth.ServiceDefaults.AspNetCore;

// The slim builder leaves out what the registry does not use (IIS integration, the QUIC transport, EventSource and
// Debug logging, regex route constraints, host filtering): fewer assemblies loaded is less RSS (docs/benchmarks.md).
var builder = WebApplication.CreateSlimBuilder(args);
// https:// URLs with --tls-cert/--tls-key (Kestrel:Certificates:Default), which the slim builder leaves out.
builder.WebHost.UseKestrelHttpsConfiguration();

// `--data-dir PATH` is `Registry:DataDir`; everything else binds from configuration as usual.
builder.Configuration.AddCommandLine(args, RegistryOptions.SwitchMappings);
builder.AddBerthDefaults();
builder.AddRegistryServices();
builder.AddRegistryOperations();
builder.AddRegistryAuth();

var app = builder.Build();
app.MapBerthDefaultEndpoints();
app.MapRegistryAuth();
app.MapRegistry();
app.Run();

/// <summary>Entry point, public so that in-process tests can host the registry.</summary>
public partial class Program;
