BEGIN TRANSACTION;
CREATE INDEX "IX_Manifests_Index" ON "Manifests" ("RepositoryId", "Digest", "MediaType", "Size");

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261203173532_ManifestLoadIndex', '10.0.15');

COMMIT;

