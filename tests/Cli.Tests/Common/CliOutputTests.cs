using System.Text.Json.Nodes;
using Berth.Cli.Common;
using Berth.Scheduler.V1;

namespace Berth.Cli.Tests.Common;

public sealed class CliOutputTests
{
    [Fact]
    public void Table_AlignsColumnsToTheWidestCell()
    {
        using var stdout = new StringWriter();
        var output = new CliOutput(stdout, TextWriter.Null, OutputFormat.Table);

        output.Table(["NAME", "COUNT"], [["a", "1"], ["longer-name", "22"]]);

        Assert.Equal(["NAME         COUNT", "a            1", "longer-name  22"], stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Json_PrintsProtobufMessagesWithCamelCaseNamesEnumNamesAndZeros()
    {
        using var stdout = new StringWriter();
        var output = new CliOutput(stdout, TextWriter.Null, OutputFormat.Json);

        output.Json([new ContainerInstance { ContainerInstanceId = "abc", Status = ContainerInstanceStatus.Draining, RunningTasksCount = 0 }]);

        var first = JsonNode.Parse(stdout.ToString())!.AsArray()[0]!;
        Assert.Equal("abc", (string?)first["containerInstanceId"]);
        Assert.Equal("CONTAINER_INSTANCE_STATUS_DRAINING", (string?)first["status"]);
        Assert.Equal(0, (int?)first["runningTasksCount"]);
    }

    [Fact]
    public void Say_GoesToStderrInJsonMode_SoStdoutStaysOneDocument()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        new CliOutput(stdout, stderr, OutputFormat.Json).Say("progress");

        Assert.Equal(string.Empty, stdout.ToString());
        Assert.Contains("progress", stderr.ToString(), StringComparison.Ordinal);
    }
}
