using Berth.Registry.Lifecycle;

namespace Berth.Registry.Tests.Lifecycle;

/// <summary>ECR's validation of a lifecycle policy, each refusal with ECR's wording.</summary>
public sealed class LifecyclePolicyParserTests
{
    private const string Expire = "\"action\": {\"type\": \"expire\"}";

    // Whitespace pads a short policy to ECR's minimum length.
    private static string Policy(string rules) => ("{\"rules\": [" + rules + "]}").PadRight(LifecyclePolicyParser.MinLength);

    private static string Rule(int priority, string selection, string? action = null) =>
        "{\"rulePriority\": " + priority + ", \"selection\": {" + selection + "}, " + (action ?? Expire) + "}";

    private const string Untagged = "\"tagStatus\": \"untagged\", \"countType\": \"imageCountMoreThan\", \"countNumber\": 1";

    [Fact]
    public void AValidPolicy_IsReadWithItsRulesInPriorityOrder_AndItsTextKept()
    {
        var text = Policy(
            Rule(20, "\"tagStatus\": \"any\", \"countType\": \"sinceImagePulled\", \"countUnit\": \"days\", \"countNumber\": 90") + ", "
            + Rule(3, "\"tagStatus\": \"tagged\", \"tagPatternList\": [\"prod*\", \"*-rc*\"], \"countType\": \"imageCountMoreThan\", \"countNumber\": 5") + ", "
            + Rule(7, Untagged));

        Assert.True(LifecyclePolicyParser.TryParse(text, out var policy, out var error), error);

        Assert.Equal(text, policy.Text);
        Assert.Equal([3, 7, 20], policy.Rules.Select(r => r.Priority));
        Assert.Equal(["prod*", "*-rc*"], policy.Rules[0].TagPatterns);
        Assert.Equal((TagStatus.Untagged, CountType.ImageCountMoreThan, 1), (policy.Rules[1].TagStatus, policy.Rules[1].CountType, policy.Rules[1].CountNumber));
        Assert.Equal((TagStatus.Any, CountType.SinceImagePulled, 90), (policy.Rules[2].TagStatus, policy.Rules[2].CountType, policy.Rules[2].CountNumber));
    }

    public static TheoryData<string, string, string> Refusals => new()
    {
        { "not JSON", "{\"rules\": [" + new string(' ', 100), "Lifecycle policy validation failure: Could not map policyString into LifecyclePolicy." },
        { "not an object", "[" + new string(' ', 100) + "]", "Could not map policyString into LifecyclePolicy." },
        { "no rules", "{\"Rules\": []}".PadRight(100), "object has missing required properties ([\"rules\"])" },
        { "empty rules", "{\"rules\": []}".PadRight(100), "array is too short: must have at least 1 elements but instance has 0 elements" },
        { "unknown property", Policy(Rule(1, Untagged).Replace("\"rulePriority\"", "\"priority\": 1, \"rulePriority\"", StringComparison.Ordinal)), "object instance has properties which are not allowed by the schema: ([\"priority\"])" },
        { "missing selection field", Policy(Rule(1, "\"tagStatus\": \"untagged\", \"countType\": \"imageCountMoreThan\"")), "object has missing required properties ([\"countNumber\"])" },
        { "tagStatus not in enum", Policy(Rule(1, "\"tagStatus\": \"TAGGED\", \"tagPrefixList\": [\"v\"], \"countType\": \"imageCountMoreThan\", \"countNumber\": 1")), "instance value (\"TAGGED\") not found in enum (possible values: [\"tagged\",\"untagged\",\"any\"])" },
        { "countType not in enum", Policy(Rule(1, "\"tagStatus\": \"untagged\", \"countType\": \"imageCountLessThan\", \"countNumber\": 1")), "instance value (\"imageCountLessThan\") not found in enum (possible values: [\"imageCountMoreThan\",\"sinceImagePushed\",\"sinceImagePulled\"])" },
        { "action not expire", Policy(Rule(1, Untagged, "\"action\": {\"type\": \"transition\"}")), "instance value (\"transition\") not found in enum (possible values: [\"expire\"])" },
        { "countNumber 0", Policy(Rule(1, "\"tagStatus\": \"untagged\", \"countType\": \"imageCountMoreThan\", \"countNumber\": 0")), "numeric instance is lower than the required minimum (minimum: 1, found: 0)" },
        { "rulePriority 0", Policy(Rule(0, Untagged)), "numeric instance is lower than the required minimum (minimum: 1, found: 0)" },
        { "countNumber a string", Policy(Rule(1, "\"tagStatus\": \"untagged\", \"countType\": \"imageCountMoreThan\", \"countNumber\": \"1\"")), "instance type (string) does not match any allowed primitive type (allowed: [\"integer\"])" },
        { "tagged without a list", Policy(Rule(1, "\"tagStatus\": \"tagged\", \"countType\": \"imageCountMoreThan\", \"countNumber\": 1")), "Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED." },
        { "both lists", Policy(Rule(1, "\"tagStatus\": \"tagged\", \"tagPrefixList\": [\"v\"], \"tagPatternList\": [\"v*\"], \"countType\": \"imageCountMoreThan\", \"countNumber\": 1")), "A rule may specify either tagPatternList or tagPrefixList, but not both" },
        { "a list on untagged", Policy(Rule(1, "\"tagStatus\": \"untagged\", \"tagPrefixList\": [\"v\"], \"countType\": \"imageCountMoreThan\", \"countNumber\": 1")), "tagPrefixList and tagPatternList can only be specified when tagStatus=TAGGED" },
        { "a list on any", Policy(Rule(1, "\"tagStatus\": \"any\", \"tagPatternList\": [\"v*\"], \"countType\": \"imageCountMoreThan\", \"countNumber\": 1")), "tagPrefixList and tagPatternList can only be specified when tagStatus=TAGGED" },
        { "five wildcards", Policy(Rule(1, "\"tagStatus\": \"tagged\", \"tagPatternList\": [\"*a*b*c*d*\"], \"countType\": \"imageCountMoreThan\", \"countNumber\": 1")), "has more than 4 wildcards (*)" },
        { "countUnit with a count", Policy(Rule(1, "\"tagStatus\": \"untagged\", \"countType\": \"imageCountMoreThan\", \"countUnit\": \"days\", \"countNumber\": 1")), "countUnit can only be specified when countType is sinceImagePushed or sinceImagePulled" },
        { "no countUnit with an age", Policy(Rule(1, "\"tagStatus\": \"untagged\", \"countType\": \"sinceImagePushed\", \"countNumber\": 1")), "countUnit must be specified when countType is sinceImagePushed" },
        { "countUnit not days", Policy(Rule(1, "\"tagStatus\": \"untagged\", \"countType\": \"sinceImagePushed\", \"countUnit\": \"hours\", \"countNumber\": 1")), "instance value (\"hours\") not found in enum (possible values: [\"days\"])" },
        { "duplicate priorities", Policy(Rule(1, Untagged) + ", " + Rule(1, "\"tagStatus\": \"tagged\", \"tagPrefixList\": [\"v\"], \"countType\": \"imageCountMoreThan\", \"countNumber\": 1")), "rulePriority must be unique: 1 is used by more than one rule." },
        { "any not last", Policy(Rule(1, "\"tagStatus\": \"any\", \"countType\": \"imageCountMoreThan\", \"countNumber\": 1") + ", " + Rule(2, Untagged)), "Rule for tagStatus=ANY must have the lowest priority" },
        { "two untagged rules", Policy(Rule(1, Untagged) + ", " + Rule(2, "\"tagStatus\": \"untagged\", \"countType\": \"sinceImagePushed\", \"countUnit\": \"days\", \"countNumber\": 1")), "Only one rule can select Untagged images." },
        { "a prefix in two rules", Policy(Rule(1, "\"tagStatus\": \"tagged\", \"tagPrefixList\": [\"v\"], \"countType\": \"imageCountMoreThan\", \"countNumber\": 1") + ", " + Rule(2, "\"tagStatus\": \"tagged\", \"tagPrefixList\": [\"v\", \"w\"], \"countType\": \"sinceImagePushed\", \"countUnit\": \"days\", \"countNumber\": 1")), "The set of rules must contain a unique set of tag prefixes: 'v' is in rules 1 and 2." },
        { "a bad tag prefix", Policy(Rule(1, "\"tagStatus\": \"tagged\", \"tagPrefixList\": [\"v/1\"], \"countType\": \"imageCountMoreThan\", \"countNumber\": 1")), "tagPrefixList entry \"v/1\" must be 1-128 characters of [a-zA-Z0-9._-]" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void BadPolicies_AreRefusedWithEcrsWords(string what, string text, string expected)
    {
        Assert.False(LifecyclePolicyParser.TryParse(text, out var policy, out var error), what);
        Assert.Null(policy);
        Assert.StartsWith("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: ", error, StringComparison.Ordinal);
        Assert.True(error.Contains(expected, StringComparison.Ordinal), $"{what}: '{error}' does not say '{expected}'");
    }

    [Theory]
    [InlineData(null, "Value null at 'lifecyclePolicyText' failed to satisfy constraint: Member must not be null")]
    [InlineData("{\"rules\": []}", "Member must have length greater than or equal to 100")]
    public void MissingOrShortText_IsRefusedAsEcrsRequestValidation(string? text, string expected)
    {
        Assert.False(LifecyclePolicyParser.TryParse(text, out _, out var error));
        Assert.StartsWith("1 validation error detected: ", error, StringComparison.Ordinal);
        Assert.EndsWith(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TooLongText_IsRefused()
    {
        var text = Policy(Rule(1, Untagged)).TrimEnd() + new string(' ', LifecyclePolicyParser.MaxLength);
        Assert.False(LifecyclePolicyParser.TryParse(text, out _, out var error));
        Assert.Equal($"1 validation error detected: Value at 'lifecyclePolicyText' failed to satisfy constraint: Member must have length less than or equal to {LifecyclePolicyParser.MaxLength}", error);
    }

    [Fact]
    public void FiftyOneRules_AreRefused()
    {
        var rules = string.Join(", ", Enumerable.Range(1, 51).Select(i => Rule(i, $"\"tagStatus\": \"tagged\", \"tagPrefixList\": [\"p{i}\"], \"countType\": \"imageCountMoreThan\", \"countNumber\": 1")));
        Assert.False(LifecyclePolicyParser.TryParse(Policy(rules), out _, out var error));
        Assert.Contains("array is too long: must have at most 50 elements but instance has 51 elements", error, StringComparison.Ordinal);
    }
}
