using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Berth.Registry.Lifecycle;

/// <summary>
/// Reads a lifecycle policy in ECR's JSON, unchanged, and checks it as ECR's PutLifecyclePolicy does: first the
/// document's shape (ECR validates against a JSON schema, and its messages are the schema validator's: "object has
/// missing required properties", "instance value (...) not found in enum"), then ECR's rules across fields and rules.
/// A refusal's message is ECR's whole InvalidParameterException message.
/// </summary>
internal static class LifecyclePolicyParser
{
    /// <summary>ECR's bounds on <c>lifecyclePolicyText</c>.</summary>
    public const int MinLength = 100;

    public const int MaxLength = 30720;

    /// <summary>ECR's quota of rules per policy.</summary>
    public const int MaxRules = 50;

    /// <summary>ECR's limit of wildcards in one <c>tagPatternList</c> entry.</summary>
    public const int MaxWildcards = 4;

    private const int MaxTagLength = 128;

    private static readonly string[] s_tagStatuses = ["tagged", "untagged", "any"];
    private static readonly string[] s_countTypes = ["imageCountMoreThan", "sinceImagePushed", "sinceImagePulled"];
    private static readonly string[] s_ruleProperties = ["rulePriority", "description", "selection", "action"];
    private static readonly string[] s_selectionProperties = ["tagStatus", "tagPrefixList", "tagPatternList", "storageClass", "countType", "countUnit", "countNumber"];

    private static readonly JsonDocumentOptions s_json = new() { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 16 };

    public static bool TryParse(string? text, [NotNullWhen(true)] out LifecyclePolicy? policy, [NotNullWhen(false)] out string? error)
    {
        policy = null;
        if (text is null)
        {
            error = "1 validation error detected: Value null at 'lifecyclePolicyText' failed to satisfy constraint: Member must not be null";
            return false;
        }

        if (text.Length is < MinLength or > MaxLength)
        {
            error = text.Length < MinLength
                ? $"1 validation error detected: Value at 'lifecyclePolicyText' failed to satisfy constraint: Member must have length greater than or equal to {MinLength}"
                : $"1 validation error detected: Value at 'lifecyclePolicyText' failed to satisfy constraint: Member must have length less than or equal to {MaxLength}";
            return false;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text, s_json);
        }
        catch (JsonException)
        {
            error = Failure("Could not map policyString into LifecyclePolicy.");
            return false;
        }

        using (document)
        {
            var problem = ReadRules(document.RootElement, out var rules) ?? CheckAcrossRules(rules!);
            if (problem is not null)
            {
                error = Failure(problem);
                return false;
            }

            policy = new LifecyclePolicy(text, [.. rules!.OrderBy(r => r.Priority)]);
            error = null;
            return true;
        }
    }

    /// <summary>ECR's wording around a policy problem.</summary>
    public static string Failure(string detail) =>
        $"Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: {detail}'";

    private static string? ReadRules(JsonElement root, out List<LifecycleRule>? rules)
    {
        rules = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return "Could not map policyString into LifecyclePolicy.";
        }

        if (Shape(root, ["rules"], ["rules"]) is { } shape)
        {
            return shape;
        }

        var list = root.GetProperty("rules");
        if (list.ValueKind != JsonValueKind.Array)
        {
            return WrongType(list, "array");
        }

        var count = list.GetArrayLength();
        if (count is 0 or > MaxRules)
        {
            return count == 0
                ? "array is too short: must have at least 1 elements but instance has 0 elements"
                : $"array is too long: must have at most {MaxRules} elements but instance has {count} elements";
        }

        rules = [];
        foreach (var element in list.EnumerateArray())
        {
            if (ReadRule(element, out var rule) is { } problem)
            {
                return problem;
            }

            rules.Add(rule!);
        }

        return null;
    }

    private static string? ReadRule(JsonElement element, out LifecycleRule? rule)
    {
        rule = null;
        if (element.ValueKind != JsonValueKind.Object)
        {
            return WrongType(element, "object");
        }

        if (Shape(element, ["action", "rulePriority", "selection"], s_ruleProperties) is { } shape)
        {
            return shape;
        }

        if (Integer(element.GetProperty("rulePriority"), out var priority) is { } badPriority)
        {
            return badPriority;
        }

        string? description = null;
        if (element.TryGetProperty("description", out var describe))
        {
            if (describe.ValueKind != JsonValueKind.String)
            {
                return WrongType(describe, "string");
            }

            description = describe.GetString();
        }

        var action = element.GetProperty("action");
        if (action.ValueKind != JsonValueKind.Object)
        {
            return WrongType(action, "object");
        }

        // ECR's other action, transition to an archive storage class, has no counterpart here: Berth has one class.
        if (Shape(action, ["type"], ["type"]) is { } actionShape)
        {
            return actionShape;
        }

        if (Enum(action.GetProperty("type"), ["expire"], out _) is { } badAction)
        {
            return badAction;
        }

        var selection = element.GetProperty("selection");
        if (selection.ValueKind != JsonValueKind.Object)
        {
            return WrongType(selection, "object");
        }

        if (Shape(selection, ["countNumber", "countType", "tagStatus"], s_selectionProperties) is { } selectionShape)
        {
            return selectionShape;
        }

        // Each check in the order ECR's schema reports them; every one runs so that all outputs are assigned.
        var problems = new[]
        {
            Enum(selection.GetProperty("tagStatus"), s_tagStatuses, out var tagStatus),
            Enum(selection.GetProperty("countType"), s_countTypes, out var countType),
            Integer(selection.GetProperty("countNumber"), out var countNumber),
            Tags(selection, "tagPrefixList", wildcards: false, out var prefixes),
            Tags(selection, "tagPatternList", wildcards: true, out var patterns),
        };
        if (problems.FirstOrDefault(p => p is not null) is { } badSelection)
        {
            return badSelection;
        }

        if (selection.TryGetProperty("storageClass", out var storageClass) && Enum(storageClass, ["standard"], out _) is { } badClass)
        {
            return badClass;
        }

        var hasUnit = selection.TryGetProperty("countUnit", out var unit);
        if (hasUnit && Enum(unit, ["days"], out _) is { } badUnit)
        {
            return badUnit;
        }

        // ECR's rules within a rule.
        var status = (TagStatus)tagStatus;
        if (status == TagStatus.Tagged && prefixes is null && patterns is null)
        {
            return "Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.";
        }

        if (status != TagStatus.Tagged && (prefixes is not null || patterns is not null))
        {
            return $"tagPrefixList and tagPatternList can only be specified when tagStatus=TAGGED (rule {priority} has tagStatus={s_tagStatuses[tagStatus].ToUpperInvariant()}).";
        }

        if (prefixes is not null && patterns is not null)
        {
            return $"A rule may specify either tagPatternList or tagPrefixList, but not both (rule {priority}).";
        }

        var type = (CountType)countType;
        if (type == CountType.ImageCountMoreThan && hasUnit)
        {
            return $"countUnit can only be specified when countType is sinceImagePushed or sinceImagePulled (rule {priority}).";
        }

        if (type != CountType.ImageCountMoreThan && !hasUnit)
        {
            return $"countUnit must be specified when countType is {s_countTypes[countType]} (rule {priority}).";
        }

        rule = new LifecycleRule(priority, description, status, prefixes ?? [], patterns ?? [], type, countNumber);
        return null;
    }

    // ECR's rules across the rules of a policy.
    private static string? CheckAcrossRules(List<LifecycleRule> rules)
    {
        if (rules.GroupBy(r => r.Priority).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
        {
            return $"rulePriority must be unique: {duplicate.Key} is used by more than one rule.";
        }

        var last = rules.Max(r => r.Priority);
        if (rules.Any(r => r.TagStatus == TagStatus.Any && r.Priority != last))
        {
            return "Rule for tagStatus=ANY must have the lowest priority (the highest rulePriority).";
        }

        if (rules.Count(r => r.TagStatus == TagStatus.Untagged) > 1)
        {
            return "Only one rule can select Untagged images.";
        }

        var owners = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var rule in rules.OrderBy(r => r.Priority))
        {
            foreach (var prefix in rule.TagPrefixes)
            {
                if (!owners.TryAdd(prefix, rule.Priority) && owners[prefix] != rule.Priority)
                {
                    return $"The set of rules must contain a unique set of tag prefixes: '{prefix}' is in rules {owners[prefix]} and {rule.Priority}.";
                }
            }
        }

        return null;
    }

    // Required properties first, then properties the schema does not know (the order ECR's schema validator reports).
    private static string? Shape(JsonElement element, string[] required, string[] allowed)
    {
        var missing = required.Where(name => !element.TryGetProperty(name, out _)).ToList();
        if (missing.Count > 0)
        {
            return $"object has missing required properties ([{string.Join(",", missing.Select(Quote))}])";
        }

        var unknown = element.EnumerateObject().Select(p => p.Name).Where(name => !allowed.Contains(name, StringComparer.Ordinal)).Distinct().ToList();
        if (unknown.Count > 0)
        {
            return $"object instance has properties which are not allowed by the schema: ([{string.Join(",", unknown.Select(Quote))}])";
        }

        return element.EnumerateObject().GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1) is { } repeated
            ? $"object has the property {Quote(repeated.Key)} more than once"
            : null;
    }

    private static string? Enum(JsonElement element, string[] values, out int index)
    {
        index = -1;
        if (element.ValueKind != JsonValueKind.String)
        {
            return WrongType(element, "string");
        }

        index = Array.IndexOf(values, element.GetString());
        return index >= 0 ? null : $"instance value ({Quote(element.GetString()!)}) not found in enum (possible values: [{string.Join(",", values.Select(Quote))}])";
    }

    private static string? Integer(JsonElement element, out int value)
    {
        value = 0;
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt32(out value))
        {
            return element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out _)
                ? $"numeric instance is greater than the required maximum (maximum: {int.MaxValue}, found: {element.GetRawText()})"
                : WrongType(element, "integer");
        }

        return value < 1 ? $"numeric instance is lower than the required minimum (minimum: 1, found: {value})" : null;
    }

    private static string? Tags(JsonElement selection, string name, bool wildcards, out List<string>? tags)
    {
        tags = null;
        if (!selection.TryGetProperty(name, out var list))
        {
            return null;
        }

        if (list.ValueKind != JsonValueKind.Array)
        {
            return WrongType(list, "array");
        }

        if (list.GetArrayLength() == 0)
        {
            return $"{name}: array is too short: must have at least 1 elements but instance has 0 elements";
        }

        tags = [];
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                return WrongType(item, "string");
            }

            var tag = item.GetString()!;
            var validCharacters = tag.Length is > 0 and <= MaxTagLength
                && tag.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' || (wildcards && c == '*'));
            if (!validCharacters)
            {
                return $"{name} entry {Quote(tag)} must be 1-{MaxTagLength} characters of [a-zA-Z0-9._-]{(wildcards ? " and *" : string.Empty)}";
            }

            if (wildcards && tag.Count(c => c == '*') > MaxWildcards)
            {
                return $"{name} entry {Quote(tag)} has more than {MaxWildcards} wildcards (*)";
            }

            if (tags.Contains(tag, StringComparer.Ordinal))
            {
                return $"{name} has {Quote(tag)} more than once";
            }

            tags.Add(tag);
        }

        return null;
    }

    private static string WrongType(JsonElement element, string expected)
    {
        var actual = element.ValueKind switch
        {
            JsonValueKind.Object => "object",
            JsonValueKind.Array => "array",
            JsonValueKind.String => "string",
            JsonValueKind.Number => element.TryGetInt64(out _) ? "integer" : "number",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            _ => "null",
        };
        return $"instance type ({actual}) does not match any allowed primitive type (allowed: [{Quote(expected)}])";
    }

    private static string Quote(string value) => $"\"{JsonEncodedText.Encode(value)}\"";
}
