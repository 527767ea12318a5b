using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Berth.Registry.Auth.Accounts;

/// <summary>Lets <c>dotnet ef migrations add ... --context AuthDbContext</c> build the model without starting the registry.</summary>
internal sealed class AuthDbContextFactory : IDesignTimeDbContextFactory<AuthDbContext>
{
    public AuthDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<AuthDbContext>().UseSqlite("Data Source=design-time-auth.db").Options);
}
