using Berth.Registry.Auth.Credentials;

namespace Berth.Registry.Auth.Scopes;

/// <summary>
/// What one principal may do, read once from the account store: its grants plus the public namespaces. Answers
/// "which of these actions on this repository" without touching the database again.
/// </summary>
internal sealed class AccessRules(Principal? principal, IReadOnlyList<(string Pattern, RegistryActions Actions)> grants, IReadOnlyList<string> publicPatterns)
{
    public Principal? Principal { get; } = principal;

    public RegistryActions AllowedOn(string repository)
    {
        if (Principal?.IsAdmin == true)
        {
            return RegistryActions.All;
        }

        var allowed = RegistryActions.None;
        foreach (var (pattern, actions) in grants)
        {
            if (NamespacePattern.Matches(pattern, repository))
            {
                allowed |= RegistryActionNames.Expand(actions);
            }
        }

        foreach (var pattern in publicPatterns)
        {
            if (NamespacePattern.Matches(pattern, repository))
            {
                allowed |= RegistryActions.Pull;
                break;
            }
        }

        return allowed;
    }

    /// <summary>
    /// The token spec's grant: the intersection of what was asked and what is allowed. A partial grant is not an
    /// error; a scope with nothing granted is left out of the token.
    /// </summary>
    public List<ResourceScope> Grant(IEnumerable<ResourceScope> requested)
    {
        var granted = new List<ResourceScope>();
        foreach (var scope in requested)
        {
            if (scope.IsCatalog)
            {
                // Any logged-in principal may list the catalog; what it sees is filtered by AllowedOn.
                if (Principal is not null)
                {
                    granted.Add(scope with { Actions = RegistryActions.All });
                }

                continue;
            }

            if (scope.Type != ResourceScope.RepositoryType || !Berth.Core.Images.RepositoryName.IsValid(scope.Name))
            {
                continue;
            }

            var actions = scope.Actions & AllowedOn(scope.Name) & (RegistryActions.Pull | RegistryActions.Push | RegistryActions.Delete);
            if (actions != RegistryActions.None)
            {
                granted.Add(scope with { Actions = actions });
            }
        }

        return granted;
    }
}
