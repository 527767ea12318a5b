namespace Berth.Registry.Auth.Credentials;

internal enum PrincipalKind
{
    User,
    Robot,
}

/// <summary>Who a request or token speaks for. Anonymous callers have no principal at all.</summary>
internal sealed record Principal(string Name, PrincipalKind Kind, bool IsAdmin);
