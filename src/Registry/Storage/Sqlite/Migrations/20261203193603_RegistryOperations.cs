using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Berth.Registry.Storage.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class RegistryOperations : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "GcBlobReviews",
                columns: table => new
                {
                    Digest = table.Column<string>(type: "TEXT", maxLength: 135, nullable: false),
                    Event = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    EventAt = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_GcBlobReviews", x => x.Digest);
                });

            migrationBuilder.CreateTable(
                name: "GcManifestReviews",
                columns: table => new
                {
                    ManifestId = table.Column<long>(type: "INTEGER", nullable: false),
                    RepositoryId = table.Column<long>(type: "INTEGER", nullable: false),
                    Event = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    EventAt = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_GcManifestReviews", x => x.ManifestId);
                });

            migrationBuilder.CreateTable(
                name: "GcRuns",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    StartedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    FinishedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    DryRun = table.Column<bool>(type: "INTEGER", nullable: false),
                    ManifestsDeleted = table.Column<long>(type: "INTEGER", nullable: false),
                    BlobsDeleted = table.Column<long>(type: "INTEGER", nullable: false),
                    BytesDeleted = table.Column<long>(type: "INTEGER", nullable: false),
                    UploadsDeleted = table.Column<long>(type: "INTEGER", nullable: false),
                    Error = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_GcRuns", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "LifecycleExpirations",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Repository = table.Column<string>(type: "TEXT", nullable: false),
                    Digest = table.Column<string>(type: "TEXT", nullable: false),
                    Tags = table.Column<string>(type: "TEXT", nullable: true),
                    RulePriority = table.Column<int>(type: "INTEGER", nullable: false),
                    Reason = table.Column<string>(type: "TEXT", nullable: false),
                    ExpiredAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_LifecycleExpirations", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "ManifestPulls",
                columns: table => new
                {
                    ManifestId = table.Column<long>(type: "INTEGER", nullable: false),
                    LastPulledAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ManifestPulls", x => x.ManifestId);
                    table.ForeignKey(
                        name: "FK_ManifestPulls_Manifests_ManifestId",
                        column: x => x.ManifestId,
                        principalTable: "Manifests",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "RepositoryCreationTemplates",
                columns: table => new
                {
                    Prefix = table.Column<string>(type: "TEXT", maxLength: 256, nullable: false),
                    Description = table.Column<string>(type: "TEXT", nullable: true),
                    TagMutability = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    TagMutabilityExclusions = table.Column<string>(type: "TEXT", nullable: true),
                    CreateOnPush = table.Column<bool>(type: "INTEGER", nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RepositoryCreationTemplates", x => x.Prefix);
                });

            migrationBuilder.CreateTable(
                name: "RepositorySettings",
                columns: table => new
                {
                    RepositoryId = table.Column<long>(type: "INTEGER", nullable: false),
                    Description = table.Column<string>(type: "TEXT", nullable: true),
                    TagMutability = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    TagMutabilityExclusions = table.Column<string>(type: "TEXT", nullable: true),
                    LifecyclePolicy = table.Column<string>(type: "TEXT", nullable: true),
                    LifecyclePolicyUpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RepositorySettings", x => x.RepositoryId);
                    table.ForeignKey(
                        name: "FK_RepositorySettings_Repositories_RepositoryId",
                        column: x => x.RepositoryId,
                        principalTable: "Repositories",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_GcBlobReviews_EventAt",
                table: "GcBlobReviews",
                column: "EventAt");

            migrationBuilder.CreateIndex(
                name: "IX_GcManifestReviews_EventAt",
                table: "GcManifestReviews",
                column: "EventAt");

            migrationBuilder.CreateIndex(
                name: "IX_GcRuns_StartedAt",
                table: "GcRuns",
                column: "StartedAt");

            migrationBuilder.CreateIndex(
                name: "IX_LifecycleExpirations_Repository_ExpiredAt",
                table: "LifecycleExpirations",
                columns: new[] { "Repository", "ExpiredAt" });

            migrationBuilder.Sql(OperationsModel.TriggersSql);

            // A registry that ran before this migration has garbage nobody queued: queue every blob no manifest
            // references and every untagged manifest, for the collector's first pass to look at.
            migrationBuilder.Sql("""
                INSERT INTO "GcBlobReviews" ("Digest", "Event", "EventAt")
                    SELECT b."Digest", 'migration', NULL FROM "Blobs" b
                    WHERE NOT EXISTS (SELECT 1 FROM "ManifestBlobs" mb WHERE mb."Digest" = b."Digest");
                INSERT INTO "GcManifestReviews" ("ManifestId", "RepositoryId", "Event", "EventAt")
                    SELECT m."Id", m."RepositoryId", 'migration', NULL FROM "Manifests" m
                    WHERE NOT EXISTS (SELECT 1 FROM "Tags" t WHERE t."ManifestId" = m."Id");
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(OperationsModel.DropTriggersSql);

            migrationBuilder.DropTable(
                name: "GcBlobReviews");

            migrationBuilder.DropTable(
                name: "GcManifestReviews");

            migrationBuilder.DropTable(
                name: "GcRuns");

            migrationBuilder.DropTable(
                name: "LifecycleExpirations");

            migrationBuilder.DropTable(
                name: "ManifestPulls");

            migrationBuilder.DropTable(
                name: "RepositoryCreationTemplates");

            migrationBuilder.DropTable(
                name: "RepositorySettings");
        }
    }
}
