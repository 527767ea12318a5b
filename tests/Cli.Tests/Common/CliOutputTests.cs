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
    public void Table_EscapesControlCharacters_SoAHostileHostNameCannotRewriteTheTerminal()
    {
        using var stdout = new StringWriter();
        var output = new CliOutput(stdout, TextWriter.Null, OutputFormat.Table);
        // From issue 12: a host name that retitles the window (OSC ... BEL), clears the screen (CSI 2J), moves to the
        // line start (CR) and forges a second row (LF), and a zone that reads backwards (RLO).
        var hostile = "web\u001b]2;owned\u0007\u001b[2J\rfake\nrow\u009b\u007f";

        output.Table(["HOST", "ZONE"], [[hostile, "zone-\u202eevil\u2066"]]);

        var text = stdout.ToString();
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Equal(@"web\x1b]2;owned\x07\x1b[2J\x0dfake\x0arow\x9b\x7f  zone-\u202eevil\u2066", lines[1]);
        Assert.DoesNotContain(text, c => char.IsControl(c) && c != '\n' || c is '\u202e' or '\u2066');
    }

    [Fact]
    public void Fields_EscapeControlCharactersInValues()
    {
        using var stdout = new StringWriter();
        var output = new CliOutput(stdout, TextWriter.Null, OutputFormat.Table);

        output.Fields([("Reason", "exit\u001b[31m 1\ttab")]);

        Assert.Equal(@"Reason: exit\x1b[31m 1\x09tab", stdout.ToString().TrimEnd('\n'));
    }

    [Theory]
    [InlineData("plain-host.example", "plain-host.example")]
    [InlineData("ünïcode-名前", "ünïcode-名前")]
    [InlineData("a\u0000b", @"a\x00b")]
    [InlineData("\u200fmark", @"\u200fmark")]
    public void Escape_LeavesPrintableTextAlone_AndSpellsOutTheRest(string input, string expected)
    {
        Assert.Equal(expected, CliOutput.Escape(input));
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
