using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Security;

public sealed class AuthTests(ITestOutputHelper output) : SchedulerTest(output)
{
    public enum Credential
    {
        None,
        Garbage,
        Admin,
        Join,
        Instance,
    }

    private async Task<string?> TokenAsync(Credential credential) => credential switch
    {
        Credential.None => null,
        Credential.Garbage => "not-a-token",
        Credential.Admin => Host.AdminToken,
        Credential.Join => Host.JoinToken,
        Credential.Instance => (await SimulatedAgent.RegisterAsync(Host, connect: false)).Registration.InstanceCredential,
        _ => throw new ArgumentOutOfRangeException(nameof(credential)),
    };

    private static CallOptions With(string? token) => new(token is null ? [] : SchedulerHost.Bearer(token), DateTime.UtcNow.AddSeconds(30));

    [Theory]
    [InlineData(Credential.None, StatusCode.Unauthenticated)]
    [InlineData(Credential.Garbage, StatusCode.Unauthenticated)]
    [InlineData(Credential.Join, StatusCode.PermissionDenied)]
    [InlineData(Credential.Instance, StatusCode.PermissionDenied)]
    [InlineData(Credential.Admin, StatusCode.OK)]
    public async Task ControlPlane_NeedsTheAdminToken(Credential credential, StatusCode expected)
    {
        var token = await TokenAsync(credential);

        var status = await StatusOfAsync(() => Host.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = "c" }, With(token)).ResponseAsync);
        var listStatus = await StatusOfAsync(() => Host.Tasks.ListTasksAsync(new ListTasksRequest { Cluster = "c" }, With(token)).ResponseAsync);

        Assert.Equal(expected, status);
        Assert.Equal(expected, listStatus);
    }

    [Theory]
    [InlineData(Credential.None, StatusCode.Unauthenticated)]
    [InlineData(Credential.Garbage, StatusCode.Unauthenticated)]
    [InlineData(Credential.Admin, StatusCode.PermissionDenied)]
    [InlineData(Credential.Instance, StatusCode.PermissionDenied)]
    [InlineData(Credential.Join, StatusCode.OK)]
    public async Task Register_NeedsTheJoinToken_AsMetadata(Credential credential, StatusCode expected)
    {
        var token = await TokenAsync(credential);

        var status = await StatusOfAsync(() => Host.Agents.RegisterAsync(new RegisterRequest { Facts = SimulatedAgent.DefaultFacts() }, With(token)).ResponseAsync);

        Assert.Equal(expected, status);
    }

    [Fact]
    public async Task Register_JoinTokenInTheField_Works_AndAWrongOneDoesNot()
    {
        var ok = await StatusOfAsync(() => Host.Agents.RegisterAsync(new RegisterRequest { JoinToken = Host.JoinToken, Facts = SimulatedAgent.DefaultFacts() }).ResponseAsync);
        var wrong = await StatusOfAsync(() => Host.Agents.RegisterAsync(new RegisterRequest { JoinToken = "guess", Facts = SimulatedAgent.DefaultFacts() }).ResponseAsync);

        Assert.Equal(StatusCode.OK, ok);
        Assert.Equal(StatusCode.Unauthenticated, wrong);
    }

    [Theory]
    [InlineData(Credential.None, StatusCode.Unauthenticated)]
    [InlineData(Credential.Garbage, StatusCode.Unauthenticated)]
    [InlineData(Credential.Admin, StatusCode.PermissionDenied)]
    [InlineData(Credential.Join, StatusCode.PermissionDenied)]
    public async Task Session_NeedsAnInstanceCredential(Credential credential, StatusCode expected)
    {
        var token = await TokenAsync(credential);
        using var call = Host.Agents.Session(With(token));

        // The call is refused on its headers, before any message is read; only the response says how. A message
        // written meanwhile could race the refusal (the server resets the request stream) and fail as CANCELLED on the
        // client, which is what made this test flaky under load: so nothing is written.
        var status = await StatusOfAsync(async () =>
        {
            await call.ResponseStream.MoveNext(CancellationToken.None);
            return 0;
        });

        Assert.Equal(expected, status);
    }

    [Fact]
    public async Task Session_HelloForAnotherInstance_IsPermissionDenied()
    {
        await using var victim = await SimulatedAgent.RegisterAsync(Host, connect: false);
        await using var intruder = await SimulatedAgent.RegisterAsync(Host, connect: false);

        await intruder.ConnectAsync(helloInstanceId: victim.InstanceId);

        Assert.Equal(StatusCode.PermissionDenied, (await intruder.WaitForEndAsync()).StatusCode);
        Assert.Null(intruder.Desired);
    }

    [Fact]
    public async Task Session_ReportAboutAnotherInstancesTask_IsPermissionDenied_AndChangesNothing()
    {
        await using var owner = await SimulatedAgent.RegisterAsync(Host);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web() }, Host.Admin);
        var task = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" }, Host.Admin)).Tasks[0];
        await Host.Instances.UpdateContainerInstancesStateAsync(new UpdateContainerInstancesStateRequest { ContainerInstances = { owner.InstanceId }, Status = ContainerInstanceStatus.Draining }, Host.Admin);
        await using var intruder = await SimulatedAgent.RegisterAsync(Host);

        await intruder.ReportAsync(task.TaskId, LifecycleStatus.Stopped);

        // The scheduler's decision, read where it is made: the client sees it too, or (when Kestrel's reset of the
        // still-open request stream wins the race with the trailers, as happened under load in CI) CANCELLED.
        Assert.Equal(StatusCode.PermissionDenied, (await Host.Refused.WaitForAsync("Session", task.TaskId)).StatusCode);
        Assert.Contains((await intruder.WaitForEndAsync()).StatusCode, new[] { StatusCode.PermissionDenied, StatusCode.Cancelled });
        Assert.DoesNotContain(intruder.DesiredSnapshot(), d => d.Tasks.Any(t => t.TaskId == task.TaskId));
        var described = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { task.TaskId } }, Host.Admin)).Tasks[0];
        Assert.Equal(LifecycleStatus.Pending, described.LastStatus);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task TokenFiles_AreOwnerOnly()
    {
        var admin = File.GetUnixFileMode(Path.Combine(DataDirectory, "admin-token"));
        var join = File.GetUnixFileMode(Path.Combine(DataDirectory, "join-token"));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, admin);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, join);
        Assert.NotEqual(Host.AdminToken, Host.JoinToken);
        await Task.CompletedTask;
    }

    private static async Task<StatusCode> StatusOfAsync<T>(Func<Task<T>> call)
    {
        try
        {
            await call();
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }
}
