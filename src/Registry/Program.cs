using Berth.Registry;
using Berth.Registry.Auth;

var builder = WebApplication.CreateBuilder(args);

// `--data-dir PATH` is `Registry:DataDir`; everything else binds from configuration as usual.
builder.Configuration.AddCommandLine(args, RegistryOptions.SwitchMappings);
builder.AddRegistryServices();
builder.AddRegistryAuth();

var app = builder.Build();
app.MapRegistryAuth();
app.MapRegistry();
app.Run();

/// <summary>Entry point, public so that in-process tests can host the registry.</summary>
public partial class Program;
