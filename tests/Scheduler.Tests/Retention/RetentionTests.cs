using Berth.Scheduler.Retention;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Retention;

/// <summary>
/// Bounded state with the scheduler's clock in the test's hand: a STOPPED task stays visible for the visibility period
/// (an hour by default, as ECS), then answers MISSING and is not loaded by a restart; its row goes after the row
/// retention (a day by default). INACTIVE services go the same way, and old service events are trimmed.
/// </summary>
public sealed class RetentionTests(ITestOutputHelper output) : SchedulerTest(output)
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    private protected override TimeProvider? Time => _time;

    private protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        // Days pass in this test; no instance is to be declared lost meanwhile.
        ["Scheduler:LostHostGracePeriod"] = "1.00:00:00",
        ["Scheduler:ServiceReconcileInterval"] = "00:10:00",
    };

    private RetentionService Retention => Host.Services.GetRequiredService<RetentionService>();

    [Fact]
    public async Task StoppedTask_VisibleForAnHour_ThenMissing_ThenItsRowGoesAfterADay()
    {
        var (stopped, running) = await StoppedAndRunningTasksAsync();

        await AdvanceAsync(TimeSpan.FromMinutes(59));
        Assert.Equal(stopped, Assert.Single((await DescribeAsync(stopped)).Tasks).TaskId);
        Assert.Contains(stopped, await ListStoppedAsync());

        await AdvanceAsync(TimeSpan.FromMinutes(2));
        var described = await DescribeAsync(stopped, running);

        Assert.Equal("MISSING", Assert.Single(described.Failures).Reason);
        Assert.Equal(running, Assert.Single(described.Tasks).TaskId);
        Assert.DoesNotContain(stopped, await ListStoppedAsync());
        Assert.True(RowExists(stopped));

        // A restart does not bring it back either.
        await RestartAsync();
        Assert.Equal("MISSING", Assert.Single((await DescribeAsync(stopped)).Failures).Reason);
        Assert.Single((await DescribeAsync(running)).Tasks);

        await AdvanceAsync(TimeSpan.FromHours(23));
        Assert.False(RowExists(stopped));
        Assert.True(RowExists(running));
    }

    [Fact]
    public async Task ClientTokenRetry_StillAnswersFromMemoryWhileVisible()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Worker() }, Host.Admin);
        var first = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "worker", ClientToken = "once" }, Host.Admin)).Tasks.Single();
        await agent.WaitForDesiredAsync(d => d.Tasks.Any(t => t.TaskId == first.TaskId));
        await agent.ReportAndWaitAsync(first.TaskId, LifecycleStatus.Stopped);

        await AdvanceAsync(TimeSpan.FromMinutes(30));
        var retry = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "worker", ClientToken = "once" }, Host.Admin)).Tasks.Single();

        Assert.Equal(first.TaskId, retry.TaskId);
    }

    [Fact]
    public async Task DeletedService_LeavesAfterTheVisibility_AndOldEventsAreTrimmed()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Worker() }, Host.Admin);
        await Host.ServicesApi.CreateServiceAsync(new CreateServiceRequest { ServiceName = "gone", TaskDefinition = "worker", DesiredCount = 0 }, Host.Admin);
        await Host.ServicesApi.CreateServiceAsync(new CreateServiceRequest { ServiceName = "kept", TaskDefinition = "worker", DesiredCount = 0 }, Host.Admin);
        await Host.ServicesApi.DeleteServiceAsync(new DeleteServiceRequest { Service = "gone" }, Host.Admin);
        await TaskTimeouts.WaitUntilAsync(async () => (await DescribeServiceAsync("gone")).Services.SingleOrDefault()?.Status == "INACTIVE", what: "gone INACTIVE");
        var keptEvents = (await DescribeServiceAsync("kept")).Services.Single().Events.Count;
        Assert.True(keptEvents > 0);

        await AdvanceAsync(TimeSpan.FromMinutes(61));
        Assert.Equal("MISSING", Assert.Single((await DescribeServiceAsync("gone")).Failures).Reason);
        Assert.Equal(keptEvents, (await DescribeServiceAsync("kept")).Services.Single().Events.Count);

        await AdvanceAsync(TimeSpan.FromHours(24));
        Assert.Empty((await DescribeServiceAsync("kept")).Services.Single().Events);
        Assert.False(ServiceRowExists("gone"));
        Assert.True(ServiceRowExists("kept"));
    }

    private async Task<(string Stopped, string Running)> StoppedAndRunningTasksAsync()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Worker() }, Host.Admin);
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "worker", Count = 2 }, Host.Admin);
        await agent.WaitForDesiredAsync(d => d.Tasks.Count == 2, "both tasks");
        var stopped = run.Tasks[0].TaskId;
        var running = run.Tasks[1].TaskId;
        await agent.ReportAndWaitAsync(running, LifecycleStatus.Running);
        await agent.ReportAndWaitAsync(stopped, LifecycleStatus.Stopped);
        return (stopped, running);
    }

    /// <summary>Moves the scheduler's clock and waits for the retention pass that follows.</summary>
    private async Task AdvanceAsync(TimeSpan by)
    {
        var before = Retention.Passes;
        _time.Advance(by);
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(Retention.Passes > before), TimeSpan.FromSeconds(30), "a retention pass");
    }

    private Task<DescribeTasksResponse> DescribeAsync(params string[] ids) =>
        Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { ids } }, Host.Admin).ResponseAsync;

    private Task<DescribeServicesResponse> DescribeServiceAsync(string name) =>
        Host.ServicesApi.DescribeServicesAsync(new DescribeServicesRequest { Services = { name } }, Host.Admin).ResponseAsync;

    private async Task<List<string>> ListStoppedAsync() =>
        [.. (await Host.Tasks.ListTasksAsync(new ListTasksRequest { DesiredStatus = LifecycleStatus.Stopped }, Host.Admin)).TaskArns.Select(a => a[(a.LastIndexOf('/') + 1)..])];

    private bool RowExists(string taskId) => Count("SELECT COUNT(*) FROM tasks WHERE Id = $id", taskId) == 1;

    private bool ServiceRowExists(string name) => Count("SELECT COUNT(*) FROM services WHERE Name = $id", name) == 1;

    private long Count(string sql, string id)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(DataDirectory, "scheduler.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", id);
        return (long)command.ExecuteScalar()!;
    }
}
