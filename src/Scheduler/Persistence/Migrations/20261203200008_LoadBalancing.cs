using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Berth.Scheduler.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class LoadBalancing : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "load_balancing",
                columns: table => new
                {
                    Arn = table.Column<string>(type: "TEXT", nullable: false),
                    Cluster = table.Column<string>(type: "TEXT", nullable: false),
                    Kind = table.Column<int>(type: "INTEGER", nullable: false),
                    Document = table.Column<byte[]>(type: "BLOB", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_load_balancing", x => x.Arn);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "load_balancing");
        }
    }
}
