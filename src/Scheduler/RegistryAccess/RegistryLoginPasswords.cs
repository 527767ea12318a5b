using Berth.RegistryAdmin;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.RegistryAccess;

/// <summary>A pull credential for the trusted registry: an ECR-style login password and when it expires.</summary>
internal sealed record LoginPassword(string Username, string Password, DateTimeOffset ExpiresAt)
{
    // Never print the password (records print every member by default).
    public override string ToString() => $"LoginPassword {{ Username = {Username}, ExpiresAt = {ExpiresAt:O} }}";
}

/// <summary>
/// Keeps a fresh login password for the configured robot: asks the registry's <c>POST /api/v1/login-password</c>
/// through the admin API's typed client (what
/// <c>aws ecr get-login-password</c> is to ECR) at start, and again once less than
/// <see cref="RegistryAccessOptions.RenewAtRemainingFraction"/> of its lifetime is left, so every credential handed to
/// a task has hours to live. Failures are retried with a doubling delay (1 s up to 5 min) while the old one is valid.
/// </summary>
internal sealed partial class RegistryLoginPasswords(
    IHttpClientFactory httpClients,
    IOptions<RegistryAccessOptions> options,
    TimeProvider time,
    ILogger<RegistryLoginPasswords> logger) : BackgroundService
{
    public const string HttpClientName = "berth-registry";

    private static readonly TimeSpan s_maxRetry = TimeSpan.FromMinutes(5);
    private readonly TaskCompletionSource _firstAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile LoginPassword? _current;

    /// <summary>The current credential, or null when none was obtained yet or the last one expired.</summary>
    public LoginPassword? Current => _current is { } c && c.ExpiresAt > time.GetUtcNow() ? c : null;

    /// <summary>
    /// The current credential; right after start, waits (up to <paramref name="timeout"/>) for the first attempt to get one,
    /// so the first tasks after a restart do not go out without it.
    /// </summary>
    public async ValueTask<LoginPassword?> GetAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (Current is { } current || _firstAttempt.Task.IsCompleted)
        {
            return Current;
        }

        try
        {
            await _firstAttempt.Task.WaitAsync(timeout, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            // The registry is slow or down: the task goes out without a credential and its pull says why.
        }

        return Current;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (o.Url is null)
        {
            _firstAttempt.TrySetResult();
            return;
        }

        var retry = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                var issued = await FetchAsync(o, stoppingToken);
                _current = issued;
                retry = TimeSpan.FromSeconds(1);
                var lifetime = issued.ExpiresAt - time.GetUtcNow();
                wait = lifetime * (1 - o.RenewAtRemainingFraction);
                LogIssued(logger, issued.Username, issued.ExpiresAt);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or RegistryApiException or RegistryRefusedException or OperationCanceledException or System.Text.Json.JsonException or IOException or UnauthorizedAccessException)
            {
                wait = retry;
                retry = TimeSpan.FromTicks(Math.Min(s_maxRetry.Ticks, retry.Ticks * 2));
                LogFailed(logger, o.Url, ex.Message, wait.TotalSeconds);
            }
            finally
            {
                _firstAttempt.TrySetResult();
            }

            await Task.Delay(wait < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : wait, time, stoppingToken);
        }
    }

    private async Task<LoginPassword> FetchAsync(RegistryAccessOptions o, CancellationToken cancellationToken)
    {
        // Read at every refresh, so rotating the robot's secret needs no scheduler restart.
        var secret = o.PasswordFile is { } file ? (await File.ReadAllTextAsync(file, cancellationToken)).Trim() : o.Password!;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var http = httpClients.CreateClient(HttpClientName);
        http.BaseAddress = o.Url;
        var issued = await new RegistryAdminClient(http, o.Username, secret).GetLoginPasswordAsync(timeout.Token);
        if (string.IsNullOrEmpty(issued.Username) || string.IsNullOrEmpty(issued.Password))
        {
            throw new RegistryRefusedException("the registry's answer has no username or password");
        }

        return new LoginPassword(issued.Username, issued.Password, issued.ExpiresAt);
    }

    private sealed class RegistryRefusedException(string message) : Exception(message);
}
