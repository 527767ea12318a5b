using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Berth.Registry.Storage.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class LifecyclePolicies : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "LifecyclePolicyEvaluatedAt",
                table: "RepositorySettings",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<DateTime>(
                name: "ImagePushedAt",
                table: "LifecycleExpirations",
                type: "TEXT",
                nullable: false,
                defaultValue: new DateTime(1, 1, 1, 0, 0, 0, 0, DateTimeKind.Unspecified));

            migrationBuilder.AddColumn<long>(
                name: "RunId",
                table: "LifecycleExpirations",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.CreateTable(
                name: "LifecycleRuns",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    StartedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    FinishedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Trigger = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Repository = table.Column<string>(type: "TEXT", nullable: true),
                    RepositoriesEvaluated = table.Column<int>(type: "INTEGER", nullable: false),
                    ImagesExpired = table.Column<int>(type: "INTEGER", nullable: false),
                    Error = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_LifecycleRuns", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_LifecycleExpirations_RunId",
                table: "LifecycleExpirations",
                column: "RunId");

            migrationBuilder.CreateIndex(
                name: "IX_LifecycleRuns_StartedAt",
                table: "LifecycleRuns",
                column: "StartedAt");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "LifecycleRuns");

            migrationBuilder.DropIndex(
                name: "IX_LifecycleExpirations_RunId",
                table: "LifecycleExpirations");

            migrationBuilder.DropColumn(
                name: "LifecyclePolicyEvaluatedAt",
                table: "RepositorySettings");

            migrationBuilder.DropColumn(
                name: "ImagePushedAt",
                table: "LifecycleExpirations");

            migrationBuilder.DropColumn(
                name: "RunId",
                table: "LifecycleExpirations");
        }
    }
}
