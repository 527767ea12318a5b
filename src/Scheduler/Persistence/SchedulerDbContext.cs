using Microsoft.EntityFrameworkCore;

namespace Berth.Scheduler.Persistence;

/// <summary>
/// The schema of the scheduler database. EF Core owns the schema and its migrations; the hot paths (group commits and
/// the start-up load of a million rows) use prepared commands on the same connection, because EF's change tracker
/// costs more per row than the whole write budget of several thousand tasks/s on two cores.
/// </summary>
internal sealed class SchedulerDbContext(DbContextOptions<SchedulerDbContext> options) : DbContext(options)
{
    public DbSet<ClusterRow> Clusters => Set<ClusterRow>();

    public DbSet<TaskDefinitionRow> TaskDefinitions => Set<TaskDefinitionRow>();

    public DbSet<InstanceRow> Instances => Set<InstanceRow>();

    public DbSet<TaskRow> Tasks => Set<TaskRow>();

    public DbSet<ServiceRow> Services => Set<ServiceRow>();

    public DbSet<LoadBalancingRow> LoadBalancing => Set<LoadBalancingRow>();

    public DbSet<CertificateRow> Certificates => Set<CertificateRow>();

    public DbSet<ScalableTargetRow> ScalableTargets => Set<ScalableTargetRow>();

    public DbSet<SecurityGroupRow> SecurityGroups => Set<SecurityGroupRow>();
    public DbSet<HostGroupRow> HostGroups => Set<HostGroupRow>();

    public DbSet<CapacityProviderRow> CapacityProviders => Set<CapacityProviderRow>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<ClusterRow>(e =>
        {
            e.ToTable("clusters");
            e.HasKey(x => x.Name);
        });
        modelBuilder.Entity<TaskDefinitionRow>(e =>
        {
            e.ToTable("task_definitions");
            e.HasKey(x => new { x.Family, x.Revision });
        });
        modelBuilder.Entity<InstanceRow>(e =>
        {
            e.ToTable("instances");
            e.HasKey(x => x.Id);
            e.HasIndex(x => x.Cluster);
            e.HasIndex(x => x.DeregisteredAtMs);
        });
        modelBuilder.Entity<TaskRow>(e =>
        {
            e.ToTable("tasks");
            e.HasKey(x => x.Id);
            e.HasIndex(x => x.InstanceId);
            e.HasIndex(x => x.ClientToken);
            // The retention deletes STOPPED rows by age in small batches; the load skips the old ones.
            e.HasIndex(x => x.StoppedAtMs);
        });
        modelBuilder.Entity<ServiceRow>(e =>
        {
            e.ToTable("services");
            // A name is reused after its service became INACTIVE, so the row is replaced, not added.
            e.HasKey(x => new { x.Cluster, x.Name });
            e.HasIndex(x => x.InactiveAtMs);
        });
        modelBuilder.Entity<LoadBalancingRow>(e =>
        {
            e.ToTable("load_balancing");
            e.HasKey(x => x.Arn);
        });
        modelBuilder.Entity<CertificateRow>(e =>
        {
            e.ToTable("certificates");
            e.HasKey(x => x.Arn);
        });
        modelBuilder.Entity<ScalableTargetRow>(e =>
        {
            e.ToTable("scalable_targets");
            e.HasKey(x => new { x.Cluster, x.ServiceName });
        });
        modelBuilder.Entity<SecurityGroupRow>(e =>
        {
            e.ToTable("security_groups");
            e.HasKey(x => x.Id);
        });
        modelBuilder.Entity<HostGroupRow>(e =>
        {
            e.ToTable("host_groups");
            e.HasKey(x => new { x.Cluster, x.Name });
        });
        modelBuilder.Entity<CapacityProviderRow>(e =>
        {
            e.ToTable("capacity_providers");
            e.HasKey(x => new { x.Cluster, x.Name });
        });
    }
}
