using Berth.Core.TaskDefinitions;

namespace Berth.Core.Tests.TaskDefinitions;

public sealed class TaskDefinitionFieldsTests
{
    [Fact]
    public void Misspellings_AreFound_WithTheKnownFieldTheyResemble_AtEveryLevel()
    {
        var json = """
            {
              "family": "web", "netwrokMode": "bridge",
              "containerDefinitions": [
                {"name": "a", "image": "x", "memoryy": 3, "portMappings": [{"contianerPort": 80}], "healthcheck": {"command": ["CMD", "true"]}},
                {"name": "b", "image": "x", "environment": [{"name": "A", "vaule": "1"}], "logConfiguration": {"logDriver": "json-file", "option": {}}}
              ],
              "volumes": [{"name": "v", "dockerVolumeConfiguration": {"scope": "task", "autoProvision": true}}]
            }
            """;

        var found = TaskDefinitionFields.FindUnknown(json).Select(u => (u.Path, u.Suggestion)).ToList();

        Assert.Equal(
        [
            ("netwrokMode", "networkMode"),
            ("containerDefinitions[0].memoryy", "memory"),
            ("containerDefinitions[0].portMappings[0].contianerPort", "containerPort"),
            ("containerDefinitions[0].healthcheck", "healthCheck"),
            ("containerDefinitions[1].environment[0].vaule", "value"),
            ("containerDefinitions[1].logConfiguration.option", "options"),
            ("volumes[0].dockerVolumeConfiguration.autoProvision", "autoprovision"),
        ], found);
        Assert.Equal("containerDefinitions[0].memoryy is not a task-definition field; did you mean memory?", TaskDefinitionFields.FindUnknown(json)[1].ToString());
    }

    [Fact]
    public void EcsFieldsBerthDoesNotUse_FreeFormMaps_AndDescribeOutput_AreNotUnknown()
    {
        var json = """
            {"taskDefinition": {
              "family": "web", "taskRoleArn": "arn:aws:iam::1:role/r", "executionRoleArn": "arn", "tags": [], "revision": 3, "status": "ACTIVE",
              "containerDefinitions": [{"name": "a", "image": "x", "ulimits": [], "secrets": [], "dockerLabels": {"anything": "goes"},
                "logConfiguration": {"logDriver": "json-file", "options": {"max-size": "10m"}}}],
              "volumes": [{"name": "v", "dockerVolumeConfiguration": {"driverOpts": {"whatever": "x"}, "labels": {"k": "v"}}}]
            }}
            """;

        Assert.Empty(TaskDefinitionFields.FindUnknown(json));
    }

    [Theory]
    [InlineData("colour", null)]
    [InlineData("foo", null)]
    [InlineData("imagee", "image")]
    [InlineData("Memory", "memory")]
    [InlineData("entrypoint", "entryPoint")]
    public void Suggestions_AreOnlyForSlips(string name, string? expected)
    {
        var json = $$"""{"family":"f","containerDefinitions":[{"name":"a","{{name}}":1}]}""";

        Assert.Equal(expected, Assert.Single(TaskDefinitionFields.FindUnknown(json)).Suggestion);
    }

    [Fact]
    public void MalformedJson_HasNoUnknownFields() => Assert.Empty(TaskDefinitionFields.FindUnknown("{\"family\": "));
}
