using System.Text.Json;
using Berth.Scheduler.Provisioning;
using Berth.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Scheduler.Tests.Provisioning;

/// <summary>The exec provisioner's contract (docs/provisioning.md) against scripts the tests write, and the caller's guarantees around it.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ExecHostProvisionerTests : IDisposable
{
    private static readonly HostRequest s_request = new(
        "web-1", "apps", new Uri("http://10.0.0.1:7070"), "join-secret-1", "zone-a", "t3.small",
        new Dictionary<string, string> { ["stack"] = "blue" });

    private readonly ScriptDirectory _scripts = new();

    [Fact]
    public async Task Create_PassesTheRequestInArgumentsEnvironmentAndStdin_AndParsesTheHost()
    {
        _scripts.Write("create", """
            env | grep '^BERTH_' | sort >"$DIR/env"
            cat >"$DIR/stdin"
            echo "making $1" >&2
            echo "{\"name\":\"$1\",\"address\":\"192.0.2.7\",\"providerId\":\"vm-17\"}"
            """);
        _scripts.Options.Exec.Environment["CLOUD_PROFILE"] = "lab";

        var host = await _scripts.Exec().CreateAsync(s_request, CancellationToken.None).WithTimeout();

        Assert.Equal(new ProvisionedHost("web-1", ProvisionedHostState.Running, "192.0.2.7", "vm-17"), host);
        var env = File.ReadAllLines(Path.Combine(_scripts.Path, "env"));
        Assert.Contains("BERTH_HOST_NAME=web-1", env);
        Assert.Contains("BERTH_CLUSTER=apps", env);
        Assert.Contains("BERTH_SCHEDULER_URL=http://10.0.0.1:7070", env);
        Assert.Contains("BERTH_JOIN_TOKEN=join-secret-1", env);
        Assert.Contains("BERTH_ZONE=zone-a", env);
        Assert.Contains("BERTH_INSTANCE_TYPE=t3.small", env);
        Assert.Contains("BERTH_ATTRIBUTES=berth.host-name=web-1,stack=blue", env);
        using var stdin = JsonDocument.Parse(File.ReadAllText(Path.Combine(_scripts.Path, "stdin")));
        Assert.Equal("join-secret-1", stdin.RootElement.GetProperty("joinToken").GetString());
        Assert.Equal("web-1", stdin.RootElement.GetProperty("attributes").GetProperty("berth.host-name").GetString());
        Assert.Equal("blue", stdin.RootElement.GetProperty("attributes").GetProperty("stack").GetString());
    }

    [Fact]
    public async Task Create_ScriptFails_ErrorCarriesItsOutput_AndIsRetryable()
    {
        _scripts.Write("create", """
            echo "asking the cloud for web-1"
            echo "quota exceeded for t3.small in zone-a" >&2
            exit 3
            """);

        var e = await Assert.ThrowsAsync<ProvisionerException>(() => _scripts.Exec().CreateAsync(s_request, CancellationToken.None)).WithTimeout();

        Assert.Equal(ProvisionerErrorKind.Failed, e.Kind);
        Assert.True(e.Retryable);
        Assert.Contains("exit 3", e.Summary, StringComparison.Ordinal);
        Assert.Contains("quota exceeded for t3.small in zone-a", e.Output, StringComparison.Ordinal);
        Assert.Contains("asking the cloud for web-1", e.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_PrintsSomethingElseThanTheContractsJson_IsAFailure()
    {
        _scripts.Write("create", """echo "VM created, id 17" """);
        var e = await Assert.ThrowsAsync<ProvisionerException>(() => _scripts.Exec().CreateAsync(s_request, CancellationToken.None)).WithTimeout();
        Assert.Equal(ProvisionerErrorKind.Failed, e.Kind);
        Assert.Contains("VM created, id 17", e.Output, StringComparison.Ordinal);

        _scripts.Write("create", """echo '{"name":"someone-else"}' """);
        e = await Assert.ThrowsAsync<ProvisionerException>(() => _scripts.Exec().CreateAsync(s_request, CancellationToken.None)).WithTimeout();
        Assert.Contains("'someone-else', not 'web-1'", e.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_Hangs_IsKilledAtTheTimeout_AndTheCallerDestroysTheHalfMadeHost()
    {
        var time = new FakeTimeProvider();
        _scripts.Options.CreateTimeout = TimeSpan.FromMinutes(5);
        _scripts.Options.CreateAttempts = 1;
        _scripts.Write("create", """
            echo "booting $1"
            sleep 600 &
            echo $! >"$DIR/child"
            touch "$DIR/started"
            wait
            """);

        var create = _scripts.Caller(time).CreateAsync(s_request, CancellationToken.None);
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(File.Exists(_scripts.PathOf("started"))), TimeSpan.FromSeconds(30), "the create script to start");
        Assert.False(create.IsCompleted);
        time.Advance(TimeSpan.FromMinutes(5));
        var e = await Assert.ThrowsAsync<ProvisionerException>(() => create).WithTimeout();

        Assert.Equal(ProvisionerErrorKind.TimedOut, e.Kind);
        Assert.False(e.HostMayRemain);
        Assert.Contains("booting web-1", e.Output, StringComparison.Ordinal);
        Assert.Equal(["web-1"], _scripts.Lines("destroyed"));
        // The script's whole tree went, its background sleep too.
        var child = int.Parse(File.ReadAllText(_scripts.PathOf("child")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(!Directory.Exists($"/proc/{child}")), TimeSpan.FromSeconds(10), "the script's child to die");
    }

    [Fact]
    public async Task Create_FailsTwice_IsRetried_EachFailedAttemptDestroyedBeforeTheNext()
    {
        _scripts.Options.CreateAttempts = 3;
        _scripts.Write("create", """
            echo "create $1" >>"$DIR/log"
            n=$(cat "$DIR/count" 2>/dev/null || echo 0); n=$((n + 1)); echo $n >"$DIR/count"
            if [ $n -lt 3 ]; then echo "hypervisor busy ($n)" >&2; exit 1; fi
            echo "{\"name\":\"$1\"}"
            """);
        _scripts.Write("destroy", """echo "destroy $1" >>"$DIR/log" """);

        var host = await _scripts.Caller().CreateAsync(s_request, CancellationToken.None).WithTimeout();

        Assert.Equal("web-1", host.Name);
        Assert.Equal(["create web-1", "destroy web-1", "create web-1", "destroy web-1", "create web-1"], _scripts.Lines("log"));
    }

    [Fact]
    public async Task Create_FailsEveryTime_LastErrorSurfaces_AfterTheConfiguredAttempts()
    {
        _scripts.Options.CreateAttempts = 2;
        _scripts.Write("create", """echo "create $1" >>"$DIR/log"; echo "no capacity" >&2; exit 1""");
        _scripts.Write("destroy", """echo "destroy $1" >>"$DIR/log" """);

        var e = await Assert.ThrowsAsync<ProvisionerException>(() => _scripts.Caller().CreateAsync(s_request, CancellationToken.None)).WithTimeout();

        Assert.Contains("no capacity", e.Output, StringComparison.Ordinal);
        Assert.Equal(["create web-1", "destroy web-1", "create web-1", "destroy web-1"], _scripts.Lines("log"));
    }

    [Fact]
    public async Task Create_Exit64_IsAnInvalidRequest_NotRetried()
    {
        _scripts.Options.CreateAttempts = 3;
        _scripts.Write("create", """echo "create $1" >>"$DIR/log"; echo "unknown instance type t3.small" >&2; exit 64""");
        _scripts.Write("destroy", """echo "destroy $1" >>"$DIR/log" """);

        var e = await Assert.ThrowsAsync<ProvisionerException>(() => _scripts.Caller().CreateAsync(s_request, CancellationToken.None)).WithTimeout();

        Assert.Equal(ProvisionerErrorKind.InvalidRequest, e.Kind);
        Assert.False(e.Retryable);
        Assert.Contains("unknown instance type t3.small", e.Output, StringComparison.Ordinal);
        Assert.Equal(["create web-1", "destroy web-1"], _scripts.Lines("log"));
    }

    [Fact]
    public async Task Create_FailsAndItsDestroyFailsToo_SaysTheHostMayRemain()
    {
        _scripts.Options.CreateAttempts = 1;
        _scripts.Options.DestroyAttempts = 2;
        _scripts.Write("create", """echo "disk full" >&2; exit 1""");
        _scripts.Write("destroy", """echo "destroy $1" >>"$DIR/log"; echo "API unreachable" >&2; exit 1""");

        var e = await Assert.ThrowsAsync<ProvisionerException>(() => _scripts.Caller().CreateAsync(s_request, CancellationToken.None)).WithTimeout();

        Assert.True(e.HostMayRemain);
        Assert.Contains("disk full", e.Output, StringComparison.Ordinal);
        Assert.Contains("API unreachable", e.Output, StringComparison.Ordinal);
        Assert.Equal(["destroy web-1", "destroy web-1"], _scripts.Lines("log"));
    }

    [Fact]
    public async Task Create_CancelledByTheCaller_StillDestroysWhatItMade()
    {
        _scripts.Write("create", """touch "$DIR/started"; sleep 600 & wait""");
        using var cancel = new CancellationTokenSource();

        var create = _scripts.Caller().CreateAsync(s_request, cancel.Token);
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(File.Exists(_scripts.PathOf("started"))), TimeSpan.FromSeconds(30), "the create script to start");
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => create).WithTimeout();
        Assert.Equal(["web-1"], _scripts.Lines("destroyed"));
    }

    [Fact]
    public async Task Create_InvalidRequest_IsRefusedNamingTheField_WithoutRunningTheScript()
    {
        var e = await Assert.ThrowsAsync<ProvisionerException>(() => _scripts.Caller().CreateAsync(s_request with { Name = "Web_1" }, CancellationToken.None)).WithTimeout();
        Assert.Equal(ProvisionerErrorKind.InvalidRequest, e.Kind);
        Assert.StartsWith("create Web_1: name:", e.Summary, StringComparison.Ordinal);

        e = await Assert.ThrowsAsync<ProvisionerException>(() => _scripts.Exec().CreateAsync(s_request with { Zone = "a;rm -rf /" }, CancellationToken.None)).WithTimeout();
        Assert.Contains("zone:", e.Summary, StringComparison.Ordinal);

        e = await Assert.ThrowsAsync<ProvisionerException>(() => _scripts.Exec().CreateAsync(s_request with { Attributes = new Dictionary<string, string> { ["berth.host-name"] = "x" } }, CancellationToken.None)).WithTimeout();
        Assert.Contains("attributes:", e.Summary, StringComparison.Ordinal);
        Assert.Empty(_scripts.Lines("created"));
    }

    [Fact]
    public async Task Destroy_FailsThenSucceeds_IsRetried()
    {
        _scripts.Write("destroy", """
            n=$(cat "$DIR/count" 2>/dev/null || echo 0); n=$((n + 1)); echo $n >"$DIR/count"
            [ $n -ge 2 ] || { echo "locked" >&2; exit 1; }
            echo "$1" >>"$DIR/destroyed"
            """);

        await _scripts.Caller().DestroyAsync("web-1", CancellationToken.None).WithTimeout();

        Assert.Equal(["web-1"], _scripts.Lines("destroyed"));
        Assert.Equal("2", File.ReadAllText(_scripts.PathOf("count")).Trim());
    }

    [Fact]
    public async Task List_ParsesStates_AndRefusesAHostWithoutAValidName()
    {
        _scripts.Write("list", """
            echo '[{"name":"web-1","state":"running","address":"192.0.2.7","providerId":"vm-17"},'
            echo ' {"name":"web-2","state":"creating"},{"name":"web-3","state":"failed"},{"name":"web-4","state":"rebooting"}]'
            """);

        var hosts = await _scripts.Exec().ListAsync(CancellationToken.None).WithTimeout();

        Assert.Equal(
            [new("web-1", ProvisionedHostState.Running, "192.0.2.7", "vm-17"), new("web-2", ProvisionedHostState.Creating), new("web-3", ProvisionedHostState.Failed), new("web-4", ProvisionedHostState.Unknown)],
            hosts);

        _scripts.Write("list", """echo '[{"state":"running"}]'""");
        var e = await Assert.ThrowsAsync<ProvisionerException>(() => _scripts.Exec().ListAsync(CancellationToken.None)).WithTimeout();
        Assert.Contains("invalid name", e.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CollectOrphans_DestroysWhatTheCallerDoesNotClaim()
    {
        _scripts.Write("list", """echo '[{"name":"web-1","state":"running"},{"name":"web-2","state":"creating"},{"name":"web-3","state":"running"}]'""");

        var destroyed = await _scripts.Caller().CollectOrphansAsync(h => h.Name == "web-3", CancellationToken.None).WithTimeout();

        Assert.Equal(["web-1", "web-2"], destroyed);
        Assert.Equal(["web-1", "web-2"], _scripts.Lines("destroyed"));
    }

    [Fact]
    public void Backoff_DoublesFromTheFirstWait_UpToTheCap()
    {
        _scripts.Options.RetryBackoff = TimeSpan.FromSeconds(5);
        _scripts.Options.MaxRetryBackoff = TimeSpan.FromSeconds(30);
        var caller = _scripts.Caller();

        Assert.Equal(
            [TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30)],
            Enumerable.Range(1, 5).Select(caller.Backoff));
    }

    [Fact]
    public async Task Retry_WaitsTheBackoffOnTheInjectedClock()
    {
        var time = new FakeTimeProvider();
        // Ten minutes between attempts: on the real clock the test would time out; only the fake clock's advance ends it.
        _scripts.Options.RetryBackoff = TimeSpan.FromMinutes(10);
        _scripts.Options.MaxRetryBackoff = TimeSpan.FromMinutes(10);
        _scripts.Options.CreateAttempts = 2;
        // The advances below must not also reach the create's own deadline.
        _scripts.Options.CreateTimeout = TimeSpan.FromDays(7);
        _scripts.Write("create", """
            n=$(cat "$DIR/count" 2>/dev/null || echo 0); n=$((n + 1)); echo $n >"$DIR/count"
            [ $n -ge 2 ] || exit 1
            echo "{\"name\":\"$1\"}"
            """);

        var create = _scripts.Caller(time).CreateAsync(s_request, CancellationToken.None);
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(_scripts.Lines("destroyed").Length == 1), TimeSpan.FromSeconds(30), "the first attempt to be destroyed");
        Assert.False(create.IsCompleted);
        // The delay may not have begun yet when the first advance happens: advance until the retry runs.
        await TaskTimeouts.WaitUntilAsync(() =>
        {
            time.Advance(TimeSpan.FromMinutes(10));
            return Task.FromResult(create.IsCompleted);
        }, TimeSpan.FromSeconds(60), "the retry after the backoff");

        Assert.Equal("web-1", (await create.WithTimeout()).Name);
        Assert.Equal("2", File.ReadAllText(_scripts.PathOf("count")).Trim());
    }

    public void Dispose() => _scripts.Dispose();
}
