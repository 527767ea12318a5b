using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Berth.Scheduler.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class AwsvpcNetworking : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "HostAddress",
                table: "instances",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "TaskSubnet",
                table: "instances",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "TaskCidr",
                table: "clusters",
                type: "TEXT",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "HostAddress",
                table: "instances");

            migrationBuilder.DropColumn(
                name: "TaskSubnet",
                table: "instances");

            migrationBuilder.DropColumn(
                name: "TaskCidr",
                table: "clusters");
        }
    }
}
