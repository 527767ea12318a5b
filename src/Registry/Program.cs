using Berth.Registry;

var builder = WebApplication.CreateBuilder(args);

// `--data-dir PATH` is `Registry:DataDir`; everything else binds from configuration as usual.
builder.Configuration.AddCommandLine(args, RegistryOptions.SwitchMappings);
builder.AddRegistryServices();

var app = builder.Build();
app.MapRegistry();
app.Run();

/// <summary>Entry point, public so that in-process tests can host the registry.</summary>
public partial class Program;
