var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();
app.Run();

namespace Berth.Scheduler
{
    /// <summary>Entry point, public so that in-process tests can host the scheduler.</summary>
    public partial class Program;
}
