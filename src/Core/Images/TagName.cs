using System.Diagnostics.CodeAnalysis;

namespace Berth.Core.Images;

/// <summary>Tags as the OCI distribution spec defines them: <c>[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}</c>.</summary>
public static class TagName
{
    /// <summary>The longest tag accepted.</summary>
    public const int MaxLength = 128;

    /// <summary>Whether <paramref name="tag"/> is a valid tag.</summary>
    public static bool IsValid([NotNullWhen(true)] string? tag) => tag is not null && IsValid(tag.AsSpan());

    /// <summary>Whether <paramref name="tag"/> is a valid tag, checked without allocating (for request paths).</summary>
    public static bool IsValid(ReadOnlySpan<char> tag)
    {
        if (tag.IsEmpty || tag.Length > MaxLength)
        {
            return false;
        }

        if (!(char.IsAsciiLetterOrDigit(tag[0]) || tag[0] == '_'))
        {
            return false;
        }

        foreach (var c in tag[1..])
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
