using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Berth.Registry.Storage.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class Replication : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "ReplicationConfiguration",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false),
                    Document = table.Column<string>(type: "TEXT", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ReplicationConfiguration", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "ReplicationImages",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Repository = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    Digest = table.Column<string>(type: "TEXT", maxLength: 135, nullable: false),
                    Destination = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    Tags = table.Column<string>(type: "TEXT", nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    FailureCode = table.Column<string>(type: "TEXT", nullable: true),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    Version = table.Column<long>(type: "INTEGER", nullable: false),
                    NextAttemptAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ReplicationImages", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_ReplicationImages_NextAttemptAt",
                table: "ReplicationImages",
                column: "NextAttemptAt");

            migrationBuilder.CreateIndex(
                name: "IX_ReplicationImages_Repository_Digest_Destination",
                table: "ReplicationImages",
                columns: new[] { "Repository", "Digest", "Destination" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ReplicationConfiguration");

            migrationBuilder.DropTable(
                name: "ReplicationImages");
        }
    }
}
