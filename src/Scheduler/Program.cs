using Berth.Scheduler.Hosting;
using Berth.ServiceDefaults;
using Berth.ServiceDefaults.AspNetCore;

var builder = WebApplication.CreateBuilder(args);
// `--data-dir PATH` is the documented spelling; it lands in Scheduler:DataDirectory.
builder.Configuration.AddCommandLine(args, SchedulerOptions.SwitchMappings);
builder.AddBerthDefaults();
builder.AddSchedulerServices();

var app = builder.Build();
app.MapBerthDefaultEndpoints();
app.MapSchedulerServices();
app.Run();

namespace Berth.Scheduler
{
    /// <summary>Entry point, public so that in-process tests can host the scheduler.</summary>
    public partial class Program;
}
