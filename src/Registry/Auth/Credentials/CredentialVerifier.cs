using System.Net.Http.Headers;
using System.Text;
using Berth.Registry.Auth.Accounts;
using Berth.Registry.Auth.Tokens;
using Microsoft.AspNetCore.Identity;

namespace Berth.Registry.Auth.Credentials;

/// <summary>
/// Turns a user name and secret into a principal. The secret may be a user's password, a robot's secret or an
/// ECR-style login password; every path costs about the same whether or not the name exists.
/// </summary>
internal sealed class CredentialVerifier(AccountStore accounts, TokenIssuer tokens, IPasswordHasher<UserAccount> hasher)
{
    // Verified against when the user does not exist, so an unknown name takes as long as a wrong password.
    private static readonly Lazy<string> s_decoyHash = new(() => new PasswordHasher<UserAccount>().HashPassword(null!, "decoy-password-never-valid"));

    public async Task<Principal?> VerifyAsync(string username, string secret, CancellationToken cancellationToken)
    {
        if (username.Length is 0 or > 256 || secret.Length is 0 or > 8192)
        {
            return null;
        }

        if (username.StartsWith(RobotAccount.NamePrefix, StringComparison.Ordinal))
        {
            var robot = await accounts.FindRobotAsync(username, cancellationToken);
            var expected = robot?.SecretHash ?? new byte[32];
            var matches = SecretHasher.Matches(secret, expected);
            if (robot is null || !matches || robot.Disabled || accounts.IsExpired(robot))
            {
                // A robot's login password (what `POST /api/v1/login-password` issued for it) comes with its name too.
                return robot is not null && !matches && await tokens.ValidateLoginPasswordAsync(secret) is { } robotSubject
                    ? await LoginPasswordPrincipalAsync(username, robotSubject, cancellationToken)
                    : null;
            }

            await accounts.MarkUsedAsync(null, robot, cancellationToken);
            return new Principal(robot.Name, PrincipalKind.Robot, IsAdmin: false);
        }

        if (await tokens.ValidateLoginPasswordAsync(secret) is { } loginSubject)
        {
            return await LoginPasswordPrincipalAsync(username, loginSubject, cancellationToken);
        }

        var user = await accounts.FindUserAsync(username, cancellationToken);
        if (user is null)
        {
            hasher.VerifyHashedPassword(null!, s_decoyHash.Value, secret);
            return null;
        }

        var result = accounts.VerifyPassword(user, secret);
        if (result == PasswordVerificationResult.Failed || user.Disabled)
        {
            return null;
        }

        await accounts.MarkUsedAsync(user, null, cancellationToken);
        return new Principal(user.Name, PrincipalKind.User, user.IsAdmin);
    }

    // An ECR-style login password names its user inside; "AWS" is accepted as the user name as ECR users type it.
    private async Task<Principal?> LoginPasswordPrincipalAsync(string username, string loginSubject, CancellationToken cancellationToken) =>
        username == loginSubject || username == "AWS" ? await accounts.FindPrincipalAsync(loginSubject, cancellationToken) : null;

    /// <summary>Reads <c>Authorization: Basic</c>; null when absent or not Basic, throws nothing on garbage.</summary>
    public static (string Username, string Password)? ReadBasic(string? authorization)
    {
        if (!AuthenticationHeaderValue.TryParse(authorization, out var header)
            || !string.Equals(header.Scheme, "Basic", StringComparison.OrdinalIgnoreCase)
            || header.Parameter is null)
        {
            return null;
        }

        var buffer = new byte[header.Parameter.Length];
        if (!Convert.TryFromBase64String(header.Parameter, buffer, out var written))
        {
            return ("", "");
        }

        var decoded = Encoding.UTF8.GetString(buffer, 0, written);
        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? (decoded, "") : (decoded[..colon], decoded[(colon + 1)..]);
    }
}
