using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Berth.Scheduler.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class StoredFormat : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "Cpu",
                table: "tasks",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<byte[]>(
                name: "Details",
                table: "tasks",
                type: "BLOB",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "GroupName",
                table: "tasks",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "Memory",
                table: "tasks",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<long>(
                name: "StoppedAtMs",
                table: "tasks",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "TaskDefinitionArn",
                table: "tasks",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<byte[]>(
                name: "Document",
                table: "services",
                type: "BLOB",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "InactiveAtMs",
                table: "services",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "DeregisteredAtMs",
                table: "instances",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<byte[]>(
                name: "HostFacts",
                table: "instances",
                type: "BLOB",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_tasks_StoppedAtMs",
                table: "tasks",
                column: "StoppedAtMs");

            migrationBuilder.CreateIndex(
                name: "IX_services_InactiveAtMs",
                table: "services",
                column: "InactiveAtMs");

            migrationBuilder.CreateIndex(
                name: "IX_instances_DeregisteredAtMs",
                table: "instances",
                column: "DeregisteredAtMs");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_tasks_StoppedAtMs",
                table: "tasks");

            migrationBuilder.DropIndex(
                name: "IX_services_InactiveAtMs",
                table: "services");

            migrationBuilder.DropIndex(
                name: "IX_instances_DeregisteredAtMs",
                table: "instances");

            migrationBuilder.DropColumn(
                name: "Cpu",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "Details",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "GroupName",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "Memory",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "StoppedAtMs",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "TaskDefinitionArn",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "Document",
                table: "services");

            migrationBuilder.DropColumn(
                name: "InactiveAtMs",
                table: "services");

            migrationBuilder.DropColumn(
                name: "DeregisteredAtMs",
                table: "instances");

            migrationBuilder.DropColumn(
                name: "HostFacts",
                table: "instances");
        }
    }
}
