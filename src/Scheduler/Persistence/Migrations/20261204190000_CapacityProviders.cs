using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Berth.Scheduler.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class CapacityProviders : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<byte[]>(
                name: "CapacityProviders",
                table: "clusters",
                type: "BLOB",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "capacity_providers",
                columns: table => new
                {
                    Cluster = table.Column<string>(type: "TEXT", nullable: false),
                    Name = table.Column<string>(type: "TEXT", nullable: false),
                    Document = table.Column<byte[]>(type: "BLOB", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_capacity_providers", x => new { x.Cluster, x.Name });
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "capacity_providers");

            migrationBuilder.DropColumn(
                name: "CapacityProviders",
                table: "clusters");
        }
    }
}
