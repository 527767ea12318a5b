using Berth.Registry;
using Berth.Registry.Auth;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddCommandLine(args, RegistryOptions.SwitchMappings);
builder.Services.AddOptions<RegistryOptions>().BindConfiguration(RegistryOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
builder.AddRegistryAuth();
var app = builder.Build();
app.MapRegistryAuth();
app.Run();

/// <summary>Entry point, public so that in-process tests can host the registry.</summary>
public partial class Program;
