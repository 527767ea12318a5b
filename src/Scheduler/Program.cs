using Berth.Scheduler.Hosting;

var builder = WebApplication.CreateBuilder(args);
// `--data-dir PATH` is the documented spelling; it lands in Scheduler:DataDirectory.
builder.Configuration.AddCommandLine(args, SchedulerOptions.SwitchMappings);
builder.AddSchedulerServices();

var app = builder.Build();
app.MapSchedulerServices();
app.Run();

namespace Berth.Scheduler
{
    /// <summary>Entry point, public so that in-process tests can host the scheduler.</summary>
    public partial class Program;
}
