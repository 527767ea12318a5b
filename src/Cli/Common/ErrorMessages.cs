using Grpc.Core;

namespace Berth.Cli.Common;

/// <summary>Turns failures into sentences that say what went wrong and what to do about it.</summary>
internal static class ErrorMessages
{
    /// <summary>A scheduler call that failed with a gRPC status; <paramref name="listCommand"/> is what shows what exists (NOT_FOUND).</summary>
    public static string ForScheduler(RpcException error, Uri endpoint, string? listCommand = null)
    {
        var detail = string.IsNullOrWhiteSpace(error.Status.Detail) ? error.StatusCode.ToString() : error.Status.Detail.TrimEnd('.');
        return error.StatusCode switch
        {
            StatusCode.Unavailable =>
                $"cannot reach the scheduler at {endpoint} ({detail}). Is it running? Start a local platform with `berth up`, or point the CLI at another one with --endpoint or BERTH_ENDPOINT.",
            StatusCode.Unauthenticated =>
                $"the scheduler at {endpoint} did not accept your credentials ({detail}). Log in with `berth login --endpoint {endpoint} --token-file <scheduler data dir>/admin-token` (`berth up` logs you in by itself).",
            StatusCode.PermissionDenied =>
                $"the scheduler refused: {detail}. This needs the admin API token (`berth login --token-file <scheduler data dir>/admin-token`).",
            StatusCode.NotFound => listCommand is null ? $"not found: {detail}." : $"not found: {detail}. `{listCommand}` shows what exists.",
            StatusCode.InvalidArgument => $"invalid request: {detail}.",
            StatusCode.FailedPrecondition => $"not possible now: {detail}.",
            StatusCode.AlreadyExists => $"already exists: {detail}.",
            StatusCode.ResourceExhausted => $"the scheduler is out of capacity or busy: {detail}. Retry later.",
            StatusCode.DeadlineExceeded => $"the scheduler at {endpoint} did not answer in time ({detail}). Retry, or check its load and logs.",
            StatusCode.Unimplemented =>
                $"the scheduler at {endpoint} does not offer this call ({detail}): it is older than this CLI; upgrade it.",
            StatusCode.Cancelled => "cancelled.",
            _ => $"the scheduler failed ({error.StatusCode}): {detail}.",
        };
    }

    /// <summary>
    /// The command that lists what a command works on, for a NOT_FOUND: <c>berth service list</c> for every <c>service</c>
    /// verb, <c>berth task list</c> for <c>task</c> verbs and <c>logs</c>; null where no list applies.
    /// </summary>
    public static string? ListCommandFor(IEnumerable<string> commandPath)
    {
        var path = commandPath.ToList();
        return path.FirstOrDefault() switch
        {
            "task" or "logs" => "berth task list (--stopped for stopped tasks)",
            "service" => "berth service list",
            "taskdef" => "berth taskdef list",
            "instance" => "berth instance list",
            "cluster" => "berth cluster list",
            "securitygroup" => "berth securitygroup list",
            _ => null,
        };
    }

    /// <summary>
    /// What lists the things a <c>berth registry</c> admin command works on, for a 404 (robots, public namespaces);
    /// null for the repository commands, whose hint is the default.
    /// </summary>
    public static string? RegistryAdminListHint(IEnumerable<string> commandPath) => commandPath.Take(2).ToList() switch
    {
        ["registry", "public"] => "`berth registry public list` shows the public namespaces",
        ["registry", "robots" or "grant"] => "`berth registry robots list` shows the robots",
        _ => null,
    };

    /// <summary>A registry call that failed with an HTTP status and the registry's own error message.</summary>
    public static string ForRegistry(int status, string message, Uri registry, string? listHint = null) => status switch
    {
        // A token that lacks the scope is answered 401 DENIED (RFC 6750 insufficient_scope, so that clients fetch a
        // better token), not 403: the credentials are fine, the permission is missing.
        401 when message.StartsWith("DENIED", StringComparison.Ordinal) => Refused(message),
        403 => Refused(message),
        401 => $"the registry at {registry} did not accept your credentials ({message}). Log in with `berth login --registry {registry} --username NAME --password-stdin`.",
        404 => $"not found: {message}. {listHint ?? "`berth registry repos` and `berth registry tags REPO` show what exists"}.",
        429 => $"the registry is throttling this address: {message}. Wait a minute and retry.",
        _ => $"the registry answered {status}: {message}.",
    };

    private static string Refused(string message) =>
        $"the registry refused: {message}. Ask an admin for the permission (`berth registry grant`).";

    /// <summary>A registry that could not be reached at all.</summary>
    public static string RegistryUnreachable(Uri registry, string detail) =>
        $"cannot reach the registry at {registry} ({detail}). Is it running? Start a local platform with `berth up`, or pass --registry or set BERTH_REGISTRY.";
}
