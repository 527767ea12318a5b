namespace Berth.Registry.Auth.Scopes;

/// <summary>
/// One resource scope of the Docker token spec: <c>type ":" name ":" action("," action)*</c>, e.g.
/// <c>repository:team-a/web:pull,push</c> or <c>registry:catalog:*</c>. The name may itself hold a colon (a
/// host with a port), so the type ends at the first colon and the actions start after the last.
/// </summary>
internal sealed record ResourceScope(string Type, string Name, RegistryActions Actions)
{
    public const string RepositoryType = "repository";
    public const string RegistryType = "registry";
    public const string CatalogName = "catalog";

    public bool IsCatalog => Type == RegistryType && Name == CatalogName;

    /// <summary>Parses the space-separated scopes of every <c>scope</c> parameter; malformed ones are skipped.</summary>
    public static List<ResourceScope> ParseAll(IEnumerable<string?> scopeParameters)
    {
        var scopes = new List<ResourceScope>();
        foreach (var parameter in scopeParameters)
        {
            if (string.IsNullOrEmpty(parameter))
            {
                continue;
            }

            foreach (var part in parameter.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (TryParse(part, out var scope))
                {
                    scopes.Add(scope);
                }
            }
        }

        return scopes;
    }

    public static bool TryParse(string value, out ResourceScope scope)
    {
        scope = null!;
        var first = value.IndexOf(':', StringComparison.Ordinal);
        var last = value.LastIndexOf(':');
        if (first <= 0 || last <= first + 1)
        {
            return false;
        }

        var type = value[..first];
        // "repository(plugin)" is an old docker spelling for plugin repositories: same permissions.
        var paren = type.IndexOf('(', StringComparison.Ordinal);
        if (paren > 0)
        {
            type = type[..paren];
        }

        var actions = RegistryActions.None;
        foreach (var range in value.AsSpan(last + 1).Split(','))
        {
            actions |= RegistryActionNames.Parse(value.AsSpan(last + 1)[range]);
        }

        scope = new ResourceScope(type, value[(first + 1)..last], actions);
        return true;
    }

    /// <summary>The challenge form, e.g. <c>repository:team-a/web:pull,push</c>.</summary>
    public override string ToString()
    {
        var names = IsCatalog ? ["*"] : RegistryActionNames.ToNames(Actions);
        return $"{Type}:{Name}:{string.Join(',', names)}";
    }
}
