var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();
app.Run();

/// <summary>Entry point, public so that in-process tests can host the registry.</summary>
public partial class Program;
