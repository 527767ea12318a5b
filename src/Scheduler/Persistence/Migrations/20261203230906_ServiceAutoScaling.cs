using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Berth.Scheduler.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class ServiceAutoScaling : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "scalable_targets",
                columns: table => new
                {
                    Cluster = table.Column<string>(type: "TEXT", nullable: false),
                    ServiceName = table.Column<string>(type: "TEXT", nullable: false),
                    Document = table.Column<byte[]>(type: "BLOB", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_scalable_targets", x => new { x.Cluster, x.ServiceName });
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "scalable_targets");
        }
    }
}
