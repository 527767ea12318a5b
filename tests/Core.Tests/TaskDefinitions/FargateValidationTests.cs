using Berth.Core.TaskDefinitions;

namespace Berth.Core.Tests.TaskDefinitions;

public sealed class FargateValidationTests
{
    private static string Fargate(string cpu, string memory, string container = """{"name":"a","image":"i"}""") =>
        $$"""{"family":"f","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"{{cpu}}","memory":"{{memory}}","containerDefinitions":[{{container}}]}""";

    [Theory]
    [InlineData("256", "512")]
    [InlineData("256", "2048")]
    [InlineData(".25 vCPU", "1 GB")]
    [InlineData("512", "4096")]
    [InlineData("1024", "8192")]
    [InlineData("2048", "16384")]
    [InlineData("4096", "30720")]
    [InlineData("8192", "20480")]
    [InlineData("16384", "122880")]
    public void Parse_SizeInFargatesTable_IsAccepted(string cpu, string memory)
    {
        var definition = TaskDefinitionJson.Parse(Fargate(cpu, memory));

        Assert.Equal("awsvpc", definition.NetworkMode);
    }

    [Theory]
    [InlineData("256", "4096")]
    [InlineData("256", "1536")]
    [InlineData("512", "512")]
    [InlineData("1024", "9216")]
    [InlineData("4096", "31744")]
    [InlineData("8192", "17408")]
    [InlineData("300", "1024")]
    public void Parse_SizeOutsideFargatesTable_NamesEcsError(string cpu, string memory)
    {
        var e = Assert.Throws<TaskDefinitionException>(() => TaskDefinitionJson.Parse(Fargate(cpu, memory)));

        var error = Assert.Single(e.Errors);
        Assert.Equal("memory", error.Field);
        Assert.StartsWith($"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SameSizeWithoutFargate_IsAccepted()
    {
        // The table binds FARGATE only: an EC2 awsvpc task may have any size.
        var json = """{"family":"f","networkMode":"awsvpc","cpu":"300","memory":"1000","containerDefinitions":[{"name":"a","image":"i"}]}""";

        Assert.Equal("300", TaskDefinitionJson.Parse(json).Cpu);
    }

    [Theory]
    [InlineData("""{"name":"a","image":"i","links":["b"]}""", "containerDefinitions[0].links: links are not supported when networkMode is awsvpc")]
    [InlineData("""{"name":"a","image":"i","hostname":"web"}""", "containerDefinitions[0].hostname: hostname is not supported when networkMode is awsvpc")]
    [InlineData("""{"name":"a","image":"i","portMappings":[{"containerPort":80,"hostPort":8080}]}""", "containerDefinitions[0].portMappings[0].hostPort: must equal containerPort in awsvpc network mode")]
    public void Parse_AwsvpcContainerWithWhatEcsRefuses_NamesTheField(string container, string expected)
    {
        var e = Assert.Throws<TaskDefinitionException>(() => TaskDefinitionJson.Parse(Fargate("256", "512", container)));

        Assert.Equal(expected, Assert.Single(e.Errors).ToString());
    }

    [Fact]
    public void Parse_BridgeContainerWithLinks_IsAccepted()
    {
        var json = """{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":64,"links":["b"],"hostname":"web"}]}""";

        Assert.NotNull(TaskDefinitionJson.Parse(json));
    }
}
