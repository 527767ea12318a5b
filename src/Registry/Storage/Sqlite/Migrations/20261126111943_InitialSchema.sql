CREATE TABLE IF NOT EXISTS "__EFMigrationsHistory" (
    "MigrationId" TEXT NOT NULL CONSTRAINT "PK___EFMigrationsHistory" PRIMARY KEY,
    "ProductVersion" TEXT NOT NULL
);

BEGIN TRANSACTION;
CREATE TABLE "Blobs" (
    "Digest" TEXT NOT NULL CONSTRAINT "PK_Blobs" PRIMARY KEY,
    "Size" INTEGER NOT NULL,
    "CreatedAt" TEXT NOT NULL
);

CREATE TABLE "Repositories" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_Repositories" PRIMARY KEY AUTOINCREMENT,
    "Name" TEXT NOT NULL,
    "CreatedAt" TEXT NOT NULL
);

CREATE TABLE "UploadSessions" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_UploadSessions" PRIMARY KEY,
    "Repository" TEXT NOT NULL,
    "Algorithm" TEXT NOT NULL,
    "CreatedAt" TEXT NOT NULL
);

CREATE TABLE "Manifests" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_Manifests" PRIMARY KEY AUTOINCREMENT,
    "RepositoryId" INTEGER NOT NULL,
    "Digest" TEXT NOT NULL,
    "MediaType" TEXT NOT NULL,
    "ArtifactType" TEXT NULL,
    "SubjectDigest" TEXT NULL,
    "Size" INTEGER NOT NULL,
    "Content" BLOB NOT NULL,
    "CreatedAt" TEXT NOT NULL,
    CONSTRAINT "FK_Manifests_Repositories_RepositoryId" FOREIGN KEY ("RepositoryId") REFERENCES "Repositories" ("Id") ON DELETE CASCADE
);

CREATE TABLE "RepositoryBlobs" (
    "RepositoryId" INTEGER NOT NULL,
    "Digest" TEXT NOT NULL,
    "CreatedAt" TEXT NOT NULL,
    CONSTRAINT "PK_RepositoryBlobs" PRIMARY KEY ("RepositoryId", "Digest"),
    CONSTRAINT "FK_RepositoryBlobs_Blobs_Digest" FOREIGN KEY ("Digest") REFERENCES "Blobs" ("Digest") ON DELETE RESTRICT,
    CONSTRAINT "FK_RepositoryBlobs_Repositories_RepositoryId" FOREIGN KEY ("RepositoryId") REFERENCES "Repositories" ("Id") ON DELETE CASCADE
);

CREATE TABLE "ManifestBlobs" (
    "ManifestId" INTEGER NOT NULL,
    "Digest" TEXT NOT NULL,
    CONSTRAINT "PK_ManifestBlobs" PRIMARY KEY ("ManifestId", "Digest"),
    CONSTRAINT "FK_ManifestBlobs_Blobs_Digest" FOREIGN KEY ("Digest") REFERENCES "Blobs" ("Digest") ON DELETE RESTRICT,
    CONSTRAINT "FK_ManifestBlobs_Manifests_ManifestId" FOREIGN KEY ("ManifestId") REFERENCES "Manifests" ("Id") ON DELETE CASCADE
);

CREATE TABLE "ManifestChildren" (
    "ManifestId" INTEGER NOT NULL,
    "ChildDigest" TEXT NOT NULL,
    CONSTRAINT "PK_ManifestChildren" PRIMARY KEY ("ManifestId", "ChildDigest"),
    CONSTRAINT "FK_ManifestChildren_Manifests_ManifestId" FOREIGN KEY ("ManifestId") REFERENCES "Manifests" ("Id") ON DELETE CASCADE
);

CREATE TABLE "Tags" (
    "RepositoryId" INTEGER NOT NULL,
    "Name" TEXT NOT NULL,
    "ManifestId" INTEGER NOT NULL,
    "UpdatedAt" TEXT NOT NULL,
    CONSTRAINT "PK_Tags" PRIMARY KEY ("RepositoryId", "Name"),
    CONSTRAINT "FK_Tags_Manifests_ManifestId" FOREIGN KEY ("ManifestId") REFERENCES "Manifests" ("Id") ON DELETE CASCADE,
    CONSTRAINT "FK_Tags_Repositories_RepositoryId" FOREIGN KEY ("RepositoryId") REFERENCES "Repositories" ("Id") ON DELETE CASCADE
);

CREATE INDEX "IX_ManifestBlobs_Digest" ON "ManifestBlobs" ("Digest");

CREATE INDEX "IX_ManifestChildren_ChildDigest" ON "ManifestChildren" ("ChildDigest");

CREATE UNIQUE INDEX "IX_Manifests_RepositoryId_Digest" ON "Manifests" ("RepositoryId", "Digest");

CREATE INDEX "IX_Manifests_RepositoryId_SubjectDigest" ON "Manifests" ("RepositoryId", "SubjectDigest");

CREATE UNIQUE INDEX "IX_Repositories_Name" ON "Repositories" ("Name");

CREATE INDEX "IX_RepositoryBlobs_Digest" ON "RepositoryBlobs" ("Digest");

CREATE INDEX "IX_Tags_ManifestId" ON "Tags" ("ManifestId");

CREATE INDEX "IX_UploadSessions_CreatedAt" ON "UploadSessions" ("CreatedAt");

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261126111943_InitialSchema', '10.0.15');

COMMIT;

