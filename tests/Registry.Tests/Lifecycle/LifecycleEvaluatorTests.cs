using Berth.Registry.Lifecycle;

namespace Berth.Registry.Tests.Lifecycle;

/// <summary>
/// ECR's evaluation rules as table tests on a fixed clock: every worked example of ECR's documentation (images A, B,
/// C... pushed N days ago), then each rule on its own (priorities, counts, ages since push and since pull).
/// </summary>
public sealed class LifecycleEvaluatorTests
{
    private static readonly DateTime s_now = new(2026, 6, 1, 12, 0, 0, DateTimeKind.Utc);

    // An image named by a letter, pushed daysAgo (fractions allowed), optionally last pulled pulledDaysAgo.
    private static LifecycleImage Image(char name, double daysAgo, string[] tags, double? pulledDaysAgo = null) =>
        new(name, $"sha256:{new string(char.ToLowerInvariant(name), 64)}", tags, s_now.AddDays(-daysAgo), pulledDaysAgo is { } p ? s_now.AddDays(-p) : null);

    private static string Rule(int priority, string tagStatus, string countType, int count, string? prefixes = null, string? patterns = null) =>
        "{\"rulePriority\": " + priority + ", \"description\": \"rule " + priority + "\", \"selection\": {\"tagStatus\": \"" + tagStatus + "\", "
        + (prefixes is null ? "" : "\"tagPrefixList\": [" + prefixes + "], ")
        + (patterns is null ? "" : "\"tagPatternList\": [" + patterns + "], ")
        + "\"countType\": \"" + countType + "\", " + (countType == "imageCountMoreThan" ? "" : "\"countUnit\": \"days\", ")
        + "\"countNumber\": " + count + "}, \"action\": {\"type\": \"expire\"}}";

    private static LifecyclePolicy Policy(params string[] rules)
    {
        Assert.True(LifecyclePolicyParser.TryParse(("{\"rules\": [" + string.Join(",", rules) + "]}").PadRight(LifecyclePolicyParser.MinLength), out var policy, out var error), error);
        return policy;
    }

    // "A:1 B:2": image A expired by rule 1, B by rule 2, in the order they go (oldest first).
    private static string Expired(LifecyclePolicy policy, params LifecycleImage[] images) =>
        string.Join(' ', LifecycleEvaluator.Evaluate(policy, images, s_now).Select(e => $"{(char)e.Image.Id}:{e.Rule.Priority}"));

    // The cases by name (the types they hold are internal, so the theories receive names).
    private static readonly Dictionary<string, (LifecyclePolicy Policy, LifecycleImage[] Images, string Expected)> s_ecrExamples = new()
    {
        // Filtering on multiple rules, example A: rule 2 cannot expire B, which rule 1 identified.
        ["multiple rules A"] = (
            Policy(Rule(1, "tagged", "imageCountMoreThan", 1, prefixes: "\"prod\""), Rule(2, "tagged", "imageCountMoreThan", 1, prefixes: "\"beta\"")),
            [Image('A', 10, ["beta-1", "prod-1"]), Image('B', 9, ["beta-2", "prod-2"]), Image('C', 8, ["beta-3"])],
            "A:1"
        ),
        // Example B: the same images with the priorities swapped.
        ["multiple rules B"] = (
            Policy(Rule(1, "tagged", "imageCountMoreThan", 1, prefixes: "\"beta\""), Rule(2, "tagged", "imageCountMoreThan", 1, prefixes: "\"prod\"")),
            [Image('A', 10, ["beta-1", "prod-1"]), Image('B', 9, ["beta-2", "prod-2"]), Image('C', 8, ["beta-3"])],
            "A:1 B:1"
        ),
        // Multiple tags in a single rule, example A: every prefix must match one of the tags.
        ["multiple prefixes A"] = (
            Policy(Rule(1, "tagged", "sinceImagePushed", 5, prefixes: "\"alpha\", \"beta\"")),
            [Image('A', 12, ["alpha-1"]), Image('B', 11, ["beta-1"]), Image('C', 10, ["alpha-2", "beta-2"]), Image('D', 4, ["alpha-3"]),
             Image('E', 3, ["beta-3"]), Image('F', 2, ["alpha-4", "beta-4"])],
            "C:1"
        ),
        // Example B: tags are not exclusive.
        ["multiple prefixes B"] = (
            Policy(Rule(1, "tagged", "imageCountMoreThan", 1, prefixes: "\"alpha\", \"beta\"")),
            [Image('A', 10, ["alpha-1", "beta-1", "gamma-1"]), Image('B', 9, ["alpha-2", "beta-2"]), Image('C', 8, ["alpha-3", "beta-3", "gamma-2"])],
            "A:1 B:1"
        ),
        // Filtering on all images, example A.
        ["any A"] = (
            Policy(Rule(1, "any", "imageCountMoreThan", 1)),
            [Image('A', 4, ["alpha-1"]), Image('B', 3, ["beta-1"]), Image('C', 2, []), Image('D', 1, ["alpha-2"])],
            "A:1 B:1 C:1"
        ),
        // Example B: every rule type; rule 3 counts A, B, C and E but may expire only D (E is newer: pushed later).
        ["all rule types"] = (
            Policy(
                Rule(1, "tagged", "imageCountMoreThan", 1, patterns: "\"alpha*\""),
                Rule(2, "untagged", "sinceImagePushed", 1),
                Rule(3, "any", "imageCountMoreThan", 1)),
            [Image('A', 4, ["alpha-1", "beta-1"]), Image('B', 3, []), Image('C', 2, ["alpha-2"]), Image('D', 1, ["git-hash"]), Image('E', 1, [])],
            "A:1 B:2 D:3"
        ),
    };

    public static TheoryData<string> EcrExamples => [.. s_ecrExamples.Keys];

    public static TheoryData<string> Rules => [.. s_rules.Keys];

    [Theory]
    [MemberData(nameof(EcrExamples))]
    public void EcrDocumentationExamples_ExpireWhatEcrSays(string example)
    {
        var (policy, images, expected) = s_ecrExamples[example];
        Assert.True(expected == Expired(policy, images), $"{example}: expected {expected}, got {Expired(policy, images)}");
    }

    private static readonly Dictionary<string, (LifecyclePolicy Policy, LifecycleImage[] Images, string Expected)> s_rules = new()
    {
        ["untagged count keeps the youngest"] = (
            Policy(Rule(1, "untagged", "imageCountMoreThan", 2)),
            [Image('A', 5, []), Image('B', 4, []), Image('C', 3, ["v1"]), Image('D', 2, []), Image('E', 1, [])],
            "A:1 B:1"
        ),
        ["tagged rules never touch untagged images"] = (
            Policy(Rule(1, "tagged", "sinceImagePushed", 1, prefixes: "\"v\"")),
            [Image('A', 5, []), Image('B', 4, ["v1"]), Image('C', 3, ["release"])],
            "B:1"
        ),
        ["pushed age: exactly N days stays, a minute more goes"] = (
            Policy(Rule(1, "any", "sinceImagePushed", 7)),
            [Image('A', 7, ["a"]), Image('B', 7 + (1.0 / 1440), ["b"]), Image('C', 30, [])],
            "C:1 B:1"
        ),
        ["pulled age: the last pull counts, never pulled falls back to the push"] = (
            Policy(Rule(1, "any", "sinceImagePulled", 10)),
            [Image('A', 100, ["old-but-pulled"], pulledDaysAgo: 2), Image('B', 100, ["old-pulled-long-ago"], pulledDaysAgo: 40),
             Image('C', 30, ["never-pulled"]), Image('D', 5, ["new-never-pulled"]), Image('E', 20, ["pulled-11-days-ago"], pulledDaysAgo: 11)],
            "B:1 C:1 E:1"
        ),
        ["patterns: wildcards anywhere, and every pattern must match a tag"] = (
            Policy(Rule(1, "tagged", "sinceImagePushed", 1, patterns: "\"*prod*\", \"v*\"")),
            [Image('A', 5, ["repo-production", "v1"]), Image('B', 5, ["prod"]), Image('C', 5, ["v2", "prod-team"]), Image('D', 5, ["v3"])],
            "A:1 C:1"
        ),
        ["prefixes are prefixes, not wildcards"] = (
            Policy(Rule(1, "tagged", "sinceImagePushed", 1, prefixes: "\"prod\"")),
            [Image('A', 5, ["prod-1"]), Image('B', 5, ["preprod-1"]), Image('C', 5, ["prod"])],
            "A:1 C:1"
        ),
        ["priorities are numbers, not positions: 5 before 10 whatever the order written"] = (
            Policy(Rule(10, "tagged", "imageCountMoreThan", 1, prefixes: "\"v\""), Rule(5, "tagged", "sinceImagePushed", 3, prefixes: "\"release\"")),
            [Image('A', 9, ["v1", "release-1"]), Image('B', 8, ["v2"]), Image('C', 1, ["v3", "release-3"])],
            "A:5 B:10"
        ),
        ["an image one rule identified and kept is safe from every later rule"] = (
            Policy(Rule(1, "tagged", "imageCountMoreThan", 5, prefixes: "\"keep\""), Rule(2, "any", "sinceImagePushed", 1)),
            [Image('A', 50, ["keep-1"]), Image('B', 40, ["other"]), Image('C', 30, [])],
            "B:2 C:2"
        ),
        ["later rules still count images earlier rules expired"] = (
            Policy(Rule(1, "tagged", "sinceImagePushed", 20, prefixes: "\"old\""), Rule(2, "any", "imageCountMoreThan", 2)),
            [Image('A', 30, ["old-1"]), Image('B', 10, ["x"]), Image('C', 5, ["y"]), Image('D', 1, ["z"])],
            "A:1 B:2"
        ),
        ["equal push times: the later push is the younger"] = (
            Policy(Rule(1, "untagged", "imageCountMoreThan", 1)),
            [Image('B', 3, []), Image('A', 3, [])],
            "A:1"
        ),
        ["nothing to expire"] = (
            Policy(Rule(1, "any", "imageCountMoreThan", 10)),
            [Image('A', 300, ["a"]), Image('B', 200, [])],
            ""
        ),
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void EachRule_ExpiresWhatEcrsRulesSay(string rule)
    {
        var (policy, images, expected) = s_rules[rule];
        Assert.True(expected == Expired(policy, images), $"{rule}: expected '{expected}', got '{Expired(policy, images)}'");
    }

    [Fact]
    public void Reasons_SayWhichRuleAndWhy()
    {
        var policy = Policy(Rule(1, "tagged", "imageCountMoreThan", 1, prefixes: "\"v\""), Rule(2, "untagged", "sinceImagePulled", 3));
        var expiries = LifecycleEvaluator.Evaluate(policy, [Image('A', 10, ["v1"]), Image('B', 5, ["v2"]), Image('C', 9, [], pulledDaysAgo: 4)], s_now);

        Assert.Equal(
            ["rule 1: 2nd youngest of 2 images tagged with prefixes [v]; imageCountMoreThan 1", "rule 2: untagged images; last pulled 4 days ago, sinceImagePulled 3 days"],
            expiries.Select(e => e.Reason));
    }
}
