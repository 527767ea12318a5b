using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Berth.Registry.Auth.Accounts;

/// <summary>
/// Accounts, permissions and refresh tokens. Its own context and database file (<c>auth.db</c>) so that identity
/// data evolves and migrates separately from image metadata.
/// </summary>
internal sealed class AuthDbContext(DbContextOptions<AuthDbContext> options) : DbContext(options)
{
    public DbSet<UserAccount> Users => Set<UserAccount>();

    public DbSet<RobotAccount> Robots => Set<RobotAccount>();

    public DbSet<PermissionGrant> Permissions => Set<PermissionGrant>();

    public DbSet<PublicNamespace> PublicNamespaces => Set<PublicNamespace>();

    public DbSet<RefreshTokenRecord> RefreshTokens => Set<RefreshTokenRecord>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<UserAccount>(user =>
        {
            user.HasIndex(u => u.Name).IsUnique();
            user.Property(u => u.Name).HasMaxLength(128);
        });
        modelBuilder.Entity<RobotAccount>(robot =>
        {
            robot.HasIndex(r => r.Name).IsUnique();
            robot.Property(r => r.Name).HasMaxLength(160);
        });
        modelBuilder.Entity<PermissionGrant>(grant =>
        {
            grant.HasIndex(g => new { g.Principal, g.Pattern }).IsUnique();
            grant.Property(g => g.Actions).HasConversion<int>();
        });
        modelBuilder.Entity<PublicNamespace>().HasKey(p => p.Pattern);
        modelBuilder.Entity<RefreshTokenRecord>(token =>
        {
            token.HasKey(t => t.TokenHash);
            token.HasIndex(t => t.Principal);
        });

        // SQLite cannot order or compare DateTimeOffset; store UTC ticks so expiry queries stay in SQL.
        foreach (var entity in modelBuilder.Model.GetEntityTypes())
        {
            foreach (var property in entity.GetProperties())
            {
                if (property.ClrType == typeof(DateTimeOffset) || property.ClrType == typeof(DateTimeOffset?))
                {
                    property.SetValueConverter(new DateTimeOffsetToBinaryConverter());
                }
            }
        }
    }
}
