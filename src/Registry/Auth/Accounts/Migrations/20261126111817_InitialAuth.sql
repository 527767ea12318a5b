CREATE TABLE IF NOT EXISTS "__EFMigrationsHistory" (
    "MigrationId" TEXT NOT NULL CONSTRAINT "PK___EFMigrationsHistory" PRIMARY KEY,
    "ProductVersion" TEXT NOT NULL
);

BEGIN TRANSACTION;
CREATE TABLE "Permissions" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_Permissions" PRIMARY KEY AUTOINCREMENT,
    "Principal" TEXT NOT NULL,
    "Pattern" TEXT NOT NULL,
    "Actions" INTEGER NOT NULL
);

CREATE TABLE "PublicNamespaces" (
    "Pattern" TEXT NOT NULL CONSTRAINT "PK_PublicNamespaces" PRIMARY KEY
);

CREATE TABLE "RefreshTokens" (
    "TokenHash" BLOB NOT NULL CONSTRAINT "PK_RefreshTokens" PRIMARY KEY,
    "Principal" TEXT NOT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "ExpiresAt" INTEGER NOT NULL
);

CREATE TABLE "Robots" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_Robots" PRIMARY KEY AUTOINCREMENT,
    "Name" TEXT NOT NULL,
    "Description" TEXT NULL,
    "SecretHash" BLOB NOT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "ExpiresAt" INTEGER NULL,
    "LastUsedAt" INTEGER NULL,
    "Disabled" INTEGER NOT NULL
);

CREATE TABLE "Users" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_Users" PRIMARY KEY AUTOINCREMENT,
    "Name" TEXT NOT NULL,
    "PasswordHash" TEXT NOT NULL,
    "IsAdmin" INTEGER NOT NULL,
    "Disabled" INTEGER NOT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "LastUsedAt" INTEGER NULL
);

CREATE UNIQUE INDEX "IX_Permissions_Principal_Pattern" ON "Permissions" ("Principal", "Pattern");

CREATE INDEX "IX_RefreshTokens_Principal" ON "RefreshTokens" ("Principal");

CREATE UNIQUE INDEX "IX_Robots_Name" ON "Robots" ("Name");

CREATE UNIQUE INDEX "IX_Users_Name" ON "Users" ("Name");

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261126111817_InitialAuth', '10.0.15');

COMMIT;

