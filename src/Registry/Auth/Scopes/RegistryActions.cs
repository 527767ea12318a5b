namespace Berth.Registry.Auth.Scopes;

/// <summary>What a principal may do with a repository. Stored as flags in permissions.</summary>
[Flags]
internal enum RegistryActions
{
    None = 0,
    Pull = 1,
    Push = 2,
    Delete = 4,

    /// <summary>Manage the namespace (permissions, deletion); implies every other action.</summary>
    Admin = 8,
    All = Pull | Push | Delete | Admin,
}

internal static class RegistryActionNames
{
    public const string Pull = "pull";
    public const string Push = "push";
    public const string Delete = "delete";
    public const string Wildcard = "*";

    /// <summary>Parses one scope action; unknown actions are ignored as the token spec allows.</summary>
    public static RegistryActions Parse(ReadOnlySpan<char> action) => action switch
    {
        Pull => RegistryActions.Pull,
        Push => RegistryActions.Push,
        Delete => RegistryActions.Delete,
        Wildcard => RegistryActions.All,
        _ => RegistryActions.None,
    };

    /// <summary>The action names a token carries for <paramref name="actions"/>, in a stable order.</summary>
    public static List<string> ToNames(RegistryActions actions)
    {
        var names = new List<string>(3);
        if ((actions & RegistryActions.Pull) != 0)
        {
            names.Add(Pull);
        }

        if ((actions & RegistryActions.Push) != 0)
        {
            names.Add(Push);
        }

        if ((actions & RegistryActions.Delete) != 0)
        {
            names.Add(Delete);
        }

        return names;
    }

    /// <summary>Admin implies everything; the others stand alone.</summary>
    public static RegistryActions Expand(RegistryActions actions) =>
        (actions & RegistryActions.Admin) != 0 ? RegistryActions.All : actions;
}
