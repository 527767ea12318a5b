BEGIN TRANSACTION;
CREATE TABLE "ReplicationConfiguration" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_ReplicationConfiguration" PRIMARY KEY,
    "Document" TEXT NOT NULL,
    "UpdatedAt" TEXT NOT NULL
);

CREATE TABLE "ReplicationImages" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_ReplicationImages" PRIMARY KEY AUTOINCREMENT,
    "Repository" TEXT NOT NULL,
    "Digest" TEXT NOT NULL,
    "Destination" TEXT NOT NULL,
    "Tags" TEXT NOT NULL,
    "Status" TEXT NOT NULL,
    "FailureCode" TEXT NULL,
    "Attempts" INTEGER NOT NULL,
    "Version" INTEGER NOT NULL,
    "NextAttemptAt" TEXT NULL,
    "CreatedAt" TEXT NOT NULL,
    "UpdatedAt" TEXT NOT NULL
);

CREATE INDEX "IX_ReplicationImages_NextAttemptAt" ON "ReplicationImages" ("NextAttemptAt");

CREATE UNIQUE INDEX "IX_ReplicationImages_Repository_Digest_Destination" ON "ReplicationImages" ("Repository", "Digest", "Destination");

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261204042639_Replication', '10.0.15');

COMMIT;

