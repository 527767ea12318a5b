using Berth.Core.TaskDefinitions;

namespace Berth.Core.Tests.TaskDefinitions;

/// <summary>
/// What ECS rejects at RegisterTaskDefinition rather than later: placement constraint expressions that do not parse,
/// and containers that wait for each other in a circle.
/// </summary>
public sealed class RegistrationRulesTests
{
    private static string Definition(string constraints = "", string dependencies = "") => $$"""
        {
          "family": "rules",
          {{constraints}}
          "containerDefinitions": [
            { "name": "a", "image": "busybox", "memory": 16 {{Dependency(dependencies, "a")}} },
            { "name": "b", "image": "busybox", "memory": 16 {{Dependency(dependencies, "b")}} },
            { "name": "c", "image": "busybox", "memory": 16 {{Dependency(dependencies, "c")}} }
          ]
        }
        """;

    private static string Constraint(string expression) =>
        "\"placementConstraints\": [ { \"type\": \"memberOf\", \"expression\": " + System.Text.Json.JsonSerializer.Serialize(expression) + " } ],";

    // "a:b,b:c" makes a depend on b and b on c.
    private static string Dependency(string spec, string container)
    {
        var targets = spec.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split(':')).Where(p => p[0] == container).Select(p => p[1]).ToList();
        return targets.Count == 0 ? "" : $$""", "dependsOn": [{{string.Join(",", targets.Select(t => $$"""{"containerName":"{{t}}","condition":"START"}"""))}}]""";
    }

    [Theory]
    [InlineData("attribute:berth.zone ==")]
    [InlineData("attribute:berth.zone in [a, b")]
    [InlineData("(attribute:berth.zone == a")]
    [InlineData("attribute:berth.zone =! a")]
    public void MemberOfExpression_ThatDoesNotParse_IsRejected_NamingTheField(string expression)
    {
        var json = Definition(Constraint(expression));

        var error = Assert.Throws<TaskDefinitionException>(() => TaskDefinitionJson.Parse(json));

        var only = Assert.Single(error.Errors);
        Assert.Equal("placementConstraints[0].expression", only.Field);
        Assert.StartsWith("is not a valid cluster query: expected ", only.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MemberOfExpression_LongerThanEcsAllows_IsRejected()
    {
        var expression = "attribute:team == " + new string('x', 2000);
        var json = Definition(Constraint(expression));

        var error = Assert.Throws<TaskDefinitionException>(() => TaskDefinitionJson.Parse(json));

        Assert.Equal(("placementConstraints[0].expression", "must be at most 2000 characters"), (error.Errors[0].Field, error.Errors[0].Message));
    }

    [Fact]
    public void MemberOfExpression_ThatParses_IsAccepted()
    {
        var json = Definition(Constraint("attribute:berth.zone in [a, b] and not(attribute:team == ops)"));

        Assert.Equal("rules", TaskDefinitionJson.Parse(json).Family);
    }

    [Theory]
    [InlineData("a:b,b:a", "containerDefinitions[0].dependsOn", "a -> b -> a")]
    [InlineData("a:b,b:c,c:a", "containerDefinitions[0].dependsOn", "a -> b -> c -> a")]
    [InlineData("c:b,b:c", "containerDefinitions[1].dependsOn", "b -> c -> b")]
    public void DependsOnCycle_IsRejected_SpellingOutTheCycle(string dependencies, string field, string cycle)
    {
        var error = Assert.Throws<TaskDefinitionException>(() => TaskDefinitionJson.Parse(Definition(dependencies: dependencies)));

        var only = Assert.Single(error.Errors);
        Assert.Equal(field, only.Field);
        Assert.Contains($"forms a cycle ({cycle})", only.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a:b,b:c")]
    [InlineData("a:b,a:c,b:c")]
    public void DependsOn_WithoutACycle_IsAccepted(string dependencies)
    {
        Assert.Equal(3, TaskDefinitionJson.Parse(Definition(dependencies: dependencies)).ContainerDefinitions!.Count);
    }

    [Fact]
    public void DependsOn_UnknownContainer_IsRejected_NamingTheField()
    {
        var error = Assert.Throws<TaskDefinitionException>(() => TaskDefinitionJson.Parse(Definition(dependencies: "a:nobody")));

        Assert.Equal("containerDefinitions[0].dependsOn[0].containerName", Assert.Single(error.Errors).Field);
    }
}
