BEGIN TRANSACTION;
ALTER TABLE "UploadSessions" ADD "Monolithic" INTEGER NOT NULL DEFAULT 0;

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261203160507_UploadRecords', '10.0.15');

COMMIT;

