BEGIN TRANSACTION;
CREATE TABLE "GcBlobReviews" (
    "Digest" TEXT NOT NULL CONSTRAINT "PK_GcBlobReviews" PRIMARY KEY,
    "Event" TEXT NOT NULL,
    "EventAt" TEXT NULL
);

CREATE TABLE "GcManifestReviews" (
    "ManifestId" INTEGER NOT NULL CONSTRAINT "PK_GcManifestReviews" PRIMARY KEY,
    "RepositoryId" INTEGER NOT NULL,
    "Event" TEXT NOT NULL,
    "EventAt" TEXT NULL
);

CREATE TABLE "GcRuns" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_GcRuns" PRIMARY KEY AUTOINCREMENT,
    "StartedAt" TEXT NOT NULL,
    "FinishedAt" TEXT NOT NULL,
    "DryRun" INTEGER NOT NULL,
    "ManifestsDeleted" INTEGER NOT NULL,
    "BlobsDeleted" INTEGER NOT NULL,
    "BytesDeleted" INTEGER NOT NULL,
    "UploadsDeleted" INTEGER NOT NULL,
    "Error" TEXT NULL
);

CREATE TABLE "LifecycleExpirations" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_LifecycleExpirations" PRIMARY KEY AUTOINCREMENT,
    "Repository" TEXT NOT NULL,
    "Digest" TEXT NOT NULL,
    "Tags" TEXT NULL,
    "RulePriority" INTEGER NOT NULL,
    "Reason" TEXT NOT NULL,
    "ExpiredAt" TEXT NOT NULL
);

CREATE TABLE "ManifestPulls" (
    "ManifestId" INTEGER NOT NULL CONSTRAINT "PK_ManifestPulls" PRIMARY KEY,
    "LastPulledAt" TEXT NOT NULL,
    CONSTRAINT "FK_ManifestPulls_Manifests_ManifestId" FOREIGN KEY ("ManifestId") REFERENCES "Manifests" ("Id") ON DELETE CASCADE
);

CREATE TABLE "RepositoryCreationTemplates" (
    "Prefix" TEXT NOT NULL CONSTRAINT "PK_RepositoryCreationTemplates" PRIMARY KEY,
    "Description" TEXT NULL,
    "TagMutability" TEXT NOT NULL,
    "TagMutabilityExclusions" TEXT NULL,
    "CreateOnPush" INTEGER NOT NULL,
    "CreatedAt" TEXT NOT NULL,
    "UpdatedAt" TEXT NOT NULL
);

CREATE TABLE "RepositorySettings" (
    "RepositoryId" INTEGER NOT NULL CONSTRAINT "PK_RepositorySettings" PRIMARY KEY,
    "Description" TEXT NULL,
    "TagMutability" TEXT NOT NULL,
    "TagMutabilityExclusions" TEXT NULL,
    "LifecyclePolicy" TEXT NULL,
    "LifecyclePolicyUpdatedAt" TEXT NULL,
    CONSTRAINT "FK_RepositorySettings_Repositories_RepositoryId" FOREIGN KEY ("RepositoryId") REFERENCES "Repositories" ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_GcBlobReviews_EventAt" ON "GcBlobReviews" ("EventAt");

CREATE INDEX "IX_GcManifestReviews_EventAt" ON "GcManifestReviews" ("EventAt");

CREATE INDEX "IX_GcRuns_StartedAt" ON "GcRuns" ("StartedAt");

CREATE INDEX "IX_LifecycleExpirations_Repository_ExpiredAt" ON "LifecycleExpirations" ("Repository", "ExpiredAt");

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

INSERT INTO "GcBlobReviews" ("Digest", "Event", "EventAt")
    SELECT b."Digest", 'migration', NULL FROM "Blobs" b
    WHERE NOT EXISTS (SELECT 1 FROM "ManifestBlobs" mb WHERE mb."Digest" = b."Digest");
INSERT INTO "GcManifestReviews" ("ManifestId", "RepositoryId", "Event", "EventAt")
    SELECT m."Id", m."RepositoryId", 'migration', NULL FROM "Manifests" m
    WHERE NOT EXISTS (SELECT 1 FROM "Tags" t WHERE t."ManifestId" = m."Id");

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261203193603_RegistryOperations', '10.0.15');

COMMIT;

