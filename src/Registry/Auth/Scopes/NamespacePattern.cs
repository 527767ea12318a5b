namespace Berth.Registry.Auth.Scopes;

/// <summary>
/// The repository patterns permissions are written in: <c>*</c> for every repository, <c>team-a/*</c> for a
/// namespace and everything below it, or one exact repository name.
/// </summary>
internal static class NamespacePattern
{
    public const string Everything = "*";

    public static bool IsValid(string pattern)
    {
        if (pattern == Everything)
        {
            return true;
        }

        var name = pattern.EndsWith("/*", StringComparison.Ordinal) ? pattern[..^2] : pattern;
        return Berth.Core.Images.RepositoryName.IsValid(name);
    }

    public static bool Matches(string pattern, ReadOnlySpan<char> repository)
    {
        if (pattern == Everything)
        {
            return true;
        }

        if (pattern.EndsWith("/*", StringComparison.Ordinal))
        {
            // "team-a/*" covers "team-a/x" and "team-a/x/y", never "team-ab/x".
            var prefix = pattern.AsSpan(0, pattern.Length - 1);
            return repository.Length > prefix.Length && repository.StartsWith(prefix, StringComparison.Ordinal);
        }

        return repository.SequenceEqual(pattern);
    }
}
