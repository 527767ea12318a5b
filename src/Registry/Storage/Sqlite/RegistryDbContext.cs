using Microsoft.EntityFrameworkCore;

namespace Berth.Registry.Storage.Sqlite;

internal sealed class RegistryDbContext(DbContextOptions<RegistryDbContext> options) : DbContext(options)
{
    public DbSet<RepositoryEntity> Repositories => Set<RepositoryEntity>();

    public DbSet<BlobEntity> Blobs => Set<BlobEntity>();

    public DbSet<RepositoryBlobEntity> RepositoryBlobs => Set<RepositoryBlobEntity>();

    public DbSet<ManifestEntity> Manifests => Set<ManifestEntity>();

    public DbSet<TagEntity> Tags => Set<TagEntity>();

    public DbSet<ManifestBlobEntity> ManifestBlobs => Set<ManifestBlobEntity>();

    public DbSet<ManifestChildEntity> ManifestChildren => Set<ManifestChildEntity>();

    public DbSet<UploadSessionEntity> UploadSessions => Set<UploadSessionEntity>();

    public DbSet<NotificationEventEntity> NotificationEvents => Set<NotificationEventEntity>();

    public DbSet<NotificationCursorEntity> NotificationCursors => Set<NotificationCursorEntity>();

    public DbSet<ReplicationConfigurationEntity> ReplicationConfigurations => Set<ReplicationConfigurationEntity>();

    public DbSet<ReplicationImageEntity> ReplicationImages => Set<ReplicationImageEntity>();

    public DbSet<PullThroughCacheRuleEntity> PullThroughCacheRules => Set<PullThroughCacheRuleEntity>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<RepositoryEntity>(e =>
        {
            e.ToTable("Repositories");
            e.HasKey(x => x.Id);
            e.Property(x => x.Name).HasMaxLength(255);
            e.HasIndex(x => x.Name).IsUnique();
        });

        modelBuilder.Entity<BlobEntity>(e =>
        {
            e.ToTable("Blobs");
            e.HasKey(x => x.Digest);
            e.Property(x => x.Digest).HasMaxLength(135);
        });

        modelBuilder.Entity<RepositoryBlobEntity>(e =>
        {
            e.ToTable("RepositoryBlobs");
            e.HasKey(x => new { x.RepositoryId, x.Digest });
            e.HasIndex(x => x.Digest);
            e.HasOne<RepositoryEntity>().WithMany().HasForeignKey(x => x.RepositoryId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<BlobEntity>().WithMany().HasForeignKey(x => x.Digest).OnDelete(DeleteBehavior.Restrict);
        });

        modelBuilder.Entity<ManifestEntity>(e =>
        {
            e.ToTable("Manifests");
            e.HasKey(x => x.Id);
            e.Property(x => x.Digest).HasMaxLength(135);
            e.HasIndex(x => new { x.RepositoryId, x.Digest }).IsUnique();
            e.HasIndex(x => new { x.RepositoryId, x.SubjectDigest });

            // Covers the start-up index load (id, repository, digest, media type, size): a scan of this index reads
            // ~150 bytes a manifest instead of the table's rows, bodies included (2.2 GB for a million manifests).
            e.HasIndex(x => new { x.RepositoryId, x.Digest, x.MediaType, x.Size }, "IX_Manifests_Index");
            e.HasOne<RepositoryEntity>().WithMany().HasForeignKey(x => x.RepositoryId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<TagEntity>(e =>
        {
            e.ToTable("Tags");
            e.HasKey(x => new { x.RepositoryId, x.Name });
            e.Property(x => x.Name).HasMaxLength(128);
            e.HasIndex(x => x.ManifestId);
            e.HasOne<RepositoryEntity>().WithMany().HasForeignKey(x => x.RepositoryId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<ManifestEntity>().WithMany().HasForeignKey(x => x.ManifestId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<ManifestBlobEntity>(e =>
        {
            e.ToTable("ManifestBlobs");
            e.HasKey(x => new { x.ManifestId, x.Digest });
            e.HasIndex(x => x.Digest);
            e.HasOne<ManifestEntity>().WithMany().HasForeignKey(x => x.ManifestId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<BlobEntity>().WithMany().HasForeignKey(x => x.Digest).OnDelete(DeleteBehavior.Restrict);
        });

        modelBuilder.Entity<ManifestChildEntity>(e =>
        {
            e.ToTable("ManifestChildren");
            e.HasKey(x => new { x.ManifestId, x.ChildDigest });
            e.HasIndex(x => x.ChildDigest);
            e.HasOne<ManifestEntity>().WithMany().HasForeignKey(x => x.ManifestId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<UploadSessionEntity>(e =>
        {
            e.ToTable("UploadSessions");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasMaxLength(32);
            e.HasIndex(x => x.CreatedAt);
        });

        OperationsModel.Configure(modelBuilder);

        // The notification outbox (src/Registry/Notifications). AUTOINCREMENT: ids must never be reused once trimmed.
        modelBuilder.Entity<NotificationEventEntity>(e =>
        {
            e.ToTable("NotificationEvents");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).ValueGeneratedOnAdd().HasAnnotation("Sqlite:Autoincrement", true);
            e.Property(x => x.Action).HasMaxLength(16);
        });

        modelBuilder.Entity<NotificationCursorEntity>(e =>
        {
            e.ToTable("NotificationCursors");
            e.HasKey(x => x.Endpoint);
            e.Property(x => x.Endpoint).HasMaxLength(128);
        });

        // Replication (src/Registry/Replication): the configuration and each image's status per destination.
        modelBuilder.Entity<ReplicationConfigurationEntity>(e =>
        {
            e.ToTable("ReplicationConfiguration");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).ValueGeneratedNever();
        });

        modelBuilder.Entity<ReplicationImageEntity>(e =>
        {
            e.ToTable("ReplicationImages");
            e.HasKey(x => x.Id);
            e.Property(x => x.Repository).HasMaxLength(255);
            e.Property(x => x.Digest).HasMaxLength(135);
            e.Property(x => x.Destination).HasMaxLength(255);
            e.Property(x => x.Status).HasMaxLength(16);
            e.HasIndex(x => new { x.Repository, x.Digest, x.Destination }).IsUnique();

            // The worker's question: what is due next.
            e.HasIndex(x => x.NextAttemptAt);
        });

        // Pull-through cache rules (src/Registry/PullThrough): one row per prefix.
        modelBuilder.Entity<PullThroughCacheRuleEntity>(e =>
        {
            e.ToTable("PullThroughCacheRules");
            e.HasKey(x => x.Prefix);
            e.Property(x => x.Prefix).HasMaxLength(30);
            e.Property(x => x.UpstreamRegistryUrl).HasMaxLength(2048);
        });
    }
}
