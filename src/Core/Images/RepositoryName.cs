using System.Diagnostics.CodeAnalysis;

namespace Berth.Core.Images;

/// <summary>
/// Repository names as the OCI distribution spec defines them:
/// <c>[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*</c>, at most 255 characters.
/// Validated by hand rather than by regex because names are checked on every request.
/// </summary>
public static class RepositoryName
{
    /// <summary>The longest name accepted (the spec lets registries cap it; distribution uses 255).</summary>
    public const int MaxLength = 255;

    /// <summary>Whether <paramref name="name"/> is a valid repository name.</summary>
    public static bool IsValid([NotNullWhen(true)] string? name) => name is not null && IsValid(name.AsSpan());

    /// <summary>Whether <paramref name="name"/> is a valid repository name.</summary>
    public static bool IsValid(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > MaxLength)
        {
            return false;
        }

        foreach (var component in name.Split('/'))
        {
            if (!IsValidComponent(name[component]))
            {
                return false;
            }
        }

        return true;
    }

    // A component is alphanumeric runs joined by exactly one '.', one or two '_', or any number of '-'.
    private static bool IsValidComponent(ReadOnlySpan<char> component)
    {
        if (component.IsEmpty || !IsAlphaNumeric(component[0]) || !IsAlphaNumeric(component[^1]))
        {
            return false;
        }

        var i = 0;
        while (i < component.Length)
        {
            if (IsAlphaNumeric(component[i]))
            {
                i++;
                continue;
            }

            var start = i;
            while (i < component.Length && !IsAlphaNumeric(component[i]))
            {
                i++;
            }

            var separator = component[start..i];
            if (!IsSeparator(separator))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsSeparator(ReadOnlySpan<char> separator)
    {
        if (separator.SequenceEqual(".") || separator.SequenceEqual("_") || separator.SequenceEqual("__"))
        {
            return true;
        }

        foreach (var c in separator)
        {
            if (c != '-')
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsAlphaNumeric(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c);
}
