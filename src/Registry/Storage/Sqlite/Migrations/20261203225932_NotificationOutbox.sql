BEGIN TRANSACTION;
CREATE TABLE "NotificationCursors" (
    "Endpoint" TEXT NOT NULL CONSTRAINT "PK_NotificationCursors" PRIMARY KEY,
    "LastEventId" INTEGER NOT NULL,
    "UpdatedAt" TEXT NOT NULL
);

CREATE TABLE "NotificationEvents" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_NotificationEvents" PRIMARY KEY AUTOINCREMENT,
    "Action" TEXT NOT NULL,
    "Payload" TEXT NOT NULL,
    "CreatedAt" TEXT NOT NULL
);

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261203225932_NotificationOutbox', '10.0.15');

COMMIT;

