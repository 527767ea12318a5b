using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Berth.Scheduler.Persistence;

/// <summary>Lets <c>dotnet ef migrations add</c> build the context without starting the scheduler.</summary>
internal sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<SchedulerDbContext>
{
    public SchedulerDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SchedulerDbContext>().UseSqlite("Data Source=design-time.db").Options);
}
