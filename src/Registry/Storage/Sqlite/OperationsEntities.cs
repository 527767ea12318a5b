using Microsoft.EntityFrameworkCore;

namespace Berth.Registry.Storage.Sqlite;

// The schema of the registry's operations (issue 15): repository settings and creation templates, last pull times,
// the garbage collector's review queues and runs, lifecycle expirations. Separate tables rather than new columns on
// Repositories and Manifests, so the push path's statements stay as they are and a row here goes with its owner by
// cascade.

/// <summary>A repository's settings, when they are not the defaults (mutable tags, no description, no policy).</summary>
internal sealed class RepositorySettingsEntity
{
    public long RepositoryId { get; set; }

    public string? Description { get; set; }

    /// <summary>MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION (ECR's words).</summary>
    public required string TagMutability { get; set; }

    /// <summary>The exclusion filters (ECR wildcards), one per line.</summary>
    public string? TagMutabilityExclusions { get; set; }

    /// <summary>The lifecycle policy as ECR's JSON text, as it was put.</summary>
    public string? LifecyclePolicy { get; set; }

    public DateTime? LifecyclePolicyUpdatedAt { get; set; }
}

/// <summary>Settings a repository gets when a push creates it (ECR's repository creation templates).</summary>
internal sealed class RepositoryCreationTemplateEntity
{
    /// <summary>A namespace prefix (<c>team-a/</c>) or <c>ROOT</c> for every repository.</summary>
    public required string Prefix { get; set; }

    public string? Description { get; set; }

    public required string TagMutability { get; set; }

    public string? TagMutabilityExclusions { get; set; }

    public bool CreateOnPush { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime UpdatedAt { get; set; }
}

/// <summary>When a manifest was last pulled, written in batches (never once per pull).</summary>
internal sealed class ManifestPullEntity
{
    public long ManifestId { get; set; }

    public DateTime LastPulledAt { get; set; }
}

/// <summary>
/// A manifest the garbage collector must look at: a tag left it, it was pushed untagged, or the index or subject
/// holding it went. Queued by triggers in the same transaction as the change (GitLab's online GC);
/// <see cref="EventAt"/> is null until the collector stamps it with its clock, and a new event on the same manifest
/// sets it back to null, which postpones the review.
/// </summary>
internal sealed class GcManifestReviewEntity
{
    public long ManifestId { get; set; }

    public long RepositoryId { get; set; }

    public required string Event { get; set; }

    public DateTime? EventAt { get; set; }
}

/// <summary>A blob the garbage collector must look at (uploaded, linked again, or a manifest referencing it went).</summary>
internal sealed class GcBlobReviewEntity
{
    public required string Digest { get; set; }

    public required string Event { get; set; }

    public DateTime? EventAt { get; set; }
}

/// <summary>One pass of the garbage collector, for the admin API.</summary>
internal sealed class GcRunEntity
{
    public long Id { get; set; }

    public DateTime StartedAt { get; set; }

    public DateTime FinishedAt { get; set; }

    public bool DryRun { get; set; }

    public long ManifestsDeleted { get; set; }

    public long BlobsDeleted { get; set; }

    public long BytesDeleted { get; set; }

    public long UploadsDeleted { get; set; }

    public string? Error { get; set; }
}

/// <summary>An image a lifecycle rule expired: what, when, and which rule.</summary>
internal sealed class LifecycleExpirationEntity
{
    public long Id { get; set; }

    public required string Repository { get; set; }

    public required string Digest { get; set; }

    /// <summary>The tags it had, one per line.</summary>
    public string? Tags { get; set; }

    public int RulePriority { get; set; }

    public required string Reason { get; set; }

    public DateTime ExpiredAt { get; set; }
}

internal static class OperationsModel
{
    public static void Configure(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<RepositorySettingsEntity>(e =>
        {
            e.ToTable("RepositorySettings");
            e.HasKey(x => x.RepositoryId);
            e.Property(x => x.TagMutability).HasMaxLength(32);
            e.HasOne<RepositoryEntity>().WithMany().HasForeignKey(x => x.RepositoryId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<RepositoryCreationTemplateEntity>(e =>
        {
            e.ToTable("RepositoryCreationTemplates");
            e.HasKey(x => x.Prefix);
            e.Property(x => x.Prefix).HasMaxLength(256);
            e.Property(x => x.TagMutability).HasMaxLength(32);
        });

        modelBuilder.Entity<ManifestPullEntity>(e =>
        {
            e.ToTable("ManifestPulls");
            e.HasKey(x => x.ManifestId);
            e.HasOne<ManifestEntity>().WithMany().HasForeignKey(x => x.ManifestId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<GcManifestReviewEntity>(e =>
        {
            e.ToTable("GcManifestReviews");
            e.HasKey(x => x.ManifestId);
            e.Property(x => x.ManifestId).ValueGeneratedNever();
            e.Property(x => x.Event).HasMaxLength(32);
            e.HasIndex(x => x.EventAt);
        });

        modelBuilder.Entity<GcBlobReviewEntity>(e =>
        {
            e.ToTable("GcBlobReviews");
            e.HasKey(x => x.Digest);
            e.Property(x => x.Digest).HasMaxLength(135);
            e.Property(x => x.Event).HasMaxLength(32);
            e.HasIndex(x => x.EventAt);
        });

        modelBuilder.Entity<GcRunEntity>(e =>
        {
            e.ToTable("GcRuns");
            e.HasKey(x => x.Id);
            e.HasIndex(x => x.StartedAt);
        });

        modelBuilder.Entity<LifecycleExpirationEntity>(e =>
        {
            e.ToTable("LifecycleExpirations");
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.Repository, x.ExpiredAt });
        });
    }

    /// <summary>
    /// The triggers that fill the review queues, in the transaction of the change that makes something a candidate:
    /// nothing the collector must look at can be missed, and the push path's statements do not change. A new event
    /// on a queued item sets its EventAt back to null (the collector stamps it on its next pass), which postpones
    /// its review by a full delay.
    /// </summary>
    public const string TriggersSql = """
        CREATE TRIGGER "gc_blob_uploaded" AFTER INSERT ON "Blobs" BEGIN
            INSERT INTO "GcBlobReviews" ("Digest", "Event", "EventAt") VALUES (NEW."Digest", 'blob_upload', NULL)
            ON CONFLICT ("Digest") DO UPDATE SET "Event" = excluded."Event", "EventAt" = NULL;
        END;
        CREATE TRIGGER "gc_blob_linked" AFTER INSERT ON "RepositoryBlobs" BEGIN
            INSERT INTO "GcBlobReviews" ("Digest", "Event", "EventAt") VALUES (NEW."Digest", 'blob_link', NULL)
            ON CONFLICT ("Digest") DO UPDATE SET "Event" = excluded."Event", "EventAt" = NULL;
        END;
        CREATE TRIGGER "gc_blob_unreferenced" AFTER DELETE ON "ManifestBlobs" BEGIN
            INSERT INTO "GcBlobReviews" ("Digest", "Event", "EventAt") VALUES (OLD."Digest", 'manifest_delete', NULL)
            ON CONFLICT ("Digest") DO UPDATE SET "Event" = excluded."Event", "EventAt" = NULL;
        END;
        CREATE TRIGGER "gc_manifest_uploaded" AFTER INSERT ON "Manifests" BEGIN
            INSERT INTO "GcManifestReviews" ("ManifestId", "RepositoryId", "Event", "EventAt") VALUES (NEW."Id", NEW."RepositoryId", 'manifest_upload', NULL)
            ON CONFLICT ("ManifestId") DO UPDATE SET "Event" = excluded."Event", "EventAt" = NULL;
        END;
        CREATE TRIGGER "gc_manifest_untagged" AFTER DELETE ON "Tags" BEGIN
            INSERT INTO "GcManifestReviews" ("ManifestId", "RepositoryId", "Event", "EventAt") VALUES (OLD."ManifestId", OLD."RepositoryId", 'tag_delete', NULL)
            ON CONFLICT ("ManifestId") DO UPDATE SET "Event" = excluded."Event", "EventAt" = NULL;
        END;
        CREATE TRIGGER "gc_manifest_tag_switched" AFTER UPDATE OF "ManifestId" ON "Tags" WHEN OLD."ManifestId" <> NEW."ManifestId" BEGIN
            INSERT INTO "GcManifestReviews" ("ManifestId", "RepositoryId", "Event", "EventAt") VALUES (OLD."ManifestId", OLD."RepositoryId", 'tag_switch', NULL)
            ON CONFLICT ("ManifestId") DO UPDATE SET "Event" = excluded."Event", "EventAt" = NULL;
        END;
        CREATE TRIGGER "gc_manifest_parent_deleted" AFTER DELETE ON "ManifestChildren" BEGIN
            INSERT INTO "GcManifestReviews" ("ManifestId", "RepositoryId", "Event", "EventAt")
                SELECT c."Id", c."RepositoryId", 'index_delete', NULL FROM "Manifests" p
                JOIN "Manifests" c ON c."RepositoryId" = p."RepositoryId" AND c."Digest" = OLD."ChildDigest"
                WHERE p."Id" = OLD."ManifestId"
            ON CONFLICT ("ManifestId") DO UPDATE SET "Event" = excluded."Event", "EventAt" = NULL;
        END;
        CREATE TRIGGER "gc_manifest_subject_deleted" AFTER DELETE ON "Manifests" BEGIN
            INSERT INTO "GcManifestReviews" ("ManifestId", "RepositoryId", "Event", "EventAt")
                SELECT r."Id", r."RepositoryId", 'subject_delete', NULL FROM "Manifests" r
                WHERE r."RepositoryId" = OLD."RepositoryId" AND r."SubjectDigest" = OLD."Digest"
            ON CONFLICT ("ManifestId") DO UPDATE SET "Event" = excluded."Event", "EventAt" = NULL;
            DELETE FROM "GcManifestReviews" WHERE "ManifestId" = OLD."Id";
        END;
        """;

    public const string DropTriggersSql = """
        DROP TRIGGER IF EXISTS "gc_blob_uploaded";
        DROP TRIGGER IF EXISTS "gc_blob_linked";
        DROP TRIGGER IF EXISTS "gc_blob_unreferenced";
        DROP TRIGGER IF EXISTS "gc_manifest_uploaded";
        DROP TRIGGER IF EXISTS "gc_manifest_untagged";
        DROP TRIGGER IF EXISTS "gc_manifest_tag_switched";
        DROP TRIGGER IF EXISTS "gc_manifest_parent_deleted";
        DROP TRIGGER IF EXISTS "gc_manifest_subject_deleted";
        """;
}
