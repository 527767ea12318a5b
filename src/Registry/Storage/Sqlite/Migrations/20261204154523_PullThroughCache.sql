BEGIN TRANSACTION;
CREATE TABLE "PullThroughCacheRules" (
    "Prefix" TEXT NOT NULL CONSTRAINT "PK_PullThroughCacheRules" PRIMARY KEY,
    "UpstreamRegistryUrl" TEXT NOT NULL,
    "Username" TEXT NULL,
    "Password" TEXT NULL,
    "CreatedAt" TEXT NOT NULL,
    "UpdatedAt" TEXT NOT NULL
);

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261204154523_PullThroughCache', '10.0.15');

COMMIT;

