using System.Net;
using Berth.Cli.Common;
using Berth.Core.IO;
using Berth.RegistryAdmin;

namespace Berth.Cli.Registry;

/// <summary>
/// A robot whose secret lives in a file another process reads (the scheduler's pull robot): created once with its
/// permissions, its secret written owner-only; given a new secret when the file was lost. <c>berth up</c> and
/// <c>berth registry robots ensure</c> (docker-compose's setup step) share it.
/// </summary>
internal static class RobotSecrets
{
    /// <summary>Makes sure <paramref name="secretFile"/> holds a working secret of robot <paramref name="name"/>; returns what it did.</summary>
    public static async Task<string> EnsureAsync(RegistryClient registry, string name, string description, IReadOnlyList<PermissionGrant> permissions, string secretFile, CancellationToken ct)
    {
        if (File.Exists(secretFile) && (await File.ReadAllTextAsync(secretFile, ct)).Trim().Length > 0)
        {
            return $"robot${name}: {secretFile} holds its secret already; nothing to do";
        }

        RobotSecret robot;
        string did;
        try
        {
            robot = await registry.Admin.CreateRobotAsync(new CreateRobotRequest(name, description, null, permissions), ct);
            did = "created";
        }
        catch (RegistryApiException e) when (e.StatusCode == HttpStatusCode.Conflict)
        {
            // It exists (the secret file was lost): a new secret, the old one stops working.
            robot = await registry.Admin.RotateRobotSecretAsync(name, ct);
            did = "gave a new secret to";
        }

        if (string.IsNullOrEmpty(robot.Secret))
        {
            throw new CliException($"the registry answered without a secret for robot${name}.");
        }

        OwnerOnlyFile.WriteAtomic(secretFile, robot.Secret);
        return $"{did} robot${name}; its secret is in {secretFile}";
    }
}
