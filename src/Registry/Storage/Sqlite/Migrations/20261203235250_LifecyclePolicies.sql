BEGIN TRANSACTION;
ALTER TABLE "RepositorySettings" ADD "LifecyclePolicyEvaluatedAt" TEXT NULL;

ALTER TABLE "LifecycleExpirations" ADD "ImagePushedAt" TEXT NOT NULL DEFAULT '0001-01-01 00:00:00';

ALTER TABLE "LifecycleExpirations" ADD "RunId" INTEGER NOT NULL DEFAULT 0;

CREATE TABLE "LifecycleRuns" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_LifecycleRuns" PRIMARY KEY AUTOINCREMENT,
    "StartedAt" TEXT NOT NULL,
    "FinishedAt" TEXT NOT NULL,
    "Trigger" TEXT NOT NULL,
    "Repository" TEXT NULL,
    "RepositoriesEvaluated" INTEGER NOT NULL,
    "ImagesExpired" INTEGER NOT NULL,
    "Error" TEXT NULL
);

CREATE INDEX "IX_LifecycleExpirations_RunId" ON "LifecycleExpirations" ("RunId");

CREATE INDEX "IX_LifecycleRuns_StartedAt" ON "LifecycleRuns" ("StartedAt");

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261203235250_LifecyclePolicies', '10.0.15');

COMMIT;

