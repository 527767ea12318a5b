using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Berth.Registry.Storage.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class PullThroughCache : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "PullThroughCacheRules",
                columns: table => new
                {
                    Prefix = table.Column<string>(type: "TEXT", maxLength: 30, nullable: false),
                    UpstreamRegistryUrl = table.Column<string>(type: "TEXT", maxLength: 2048, nullable: false),
                    Username = table.Column<string>(type: "TEXT", nullable: true),
                    Password = table.Column<string>(type: "TEXT", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_PullThroughCacheRules", x => x.Prefix);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "PullThroughCacheRules");
        }
    }
}
