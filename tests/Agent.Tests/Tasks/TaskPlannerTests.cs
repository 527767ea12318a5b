using Berth.Agent.Runtime;
using Berth.Agent.Tasks;

namespace Berth.Agent.Tests.Tasks;

public sealed class TaskPlannerTests
{
    [Fact]
    public void NewTask_LaunchesContainersWithoutDependencies_Only()
    {
        var task = Record(Spec(C("init", essential: false), C("web", deps: ("init", DependencyCondition.Success))));

        var decision = TaskPlanner.Decide(task);

        Assert.Equal(["init"], decision.Launch);
        Assert.Equal(LocalStatus.Pending, decision.Phase);
    }

    [Theory]
    [InlineData("Start", "Running", null, "None", true)]
    [InlineData("Start", "Created", null, "None", false)]
    [InlineData("Complete", "Running", null, "None", false)]
    [InlineData("Complete", "Exited", 1, "None", true)]
    [InlineData("Success", "Exited", 0, "None", true)]
    [InlineData("Healthy", "Running", null, "Starting", false)]
    [InlineData("Healthy", "Running", null, "Healthy", true)]
    public void DependsOn_LaunchesTheDependentOnlyWhenTheConditionHolds(string conditionName, string stateName, int? exit, string healthName, bool launches)
    {
        var condition = Enum.Parse<DependencyCondition>(conditionName);
        var state = Enum.Parse<ContainerRunState>(stateName);
        var health = Enum.Parse<ContainerHealth>(healthName);
        var task = Record(Spec(C("db", essential: false), C("web", deps: ("db", condition))));
        Observe(task, "db", state, exit, health);

        var decision = TaskPlanner.Decide(task);

        Assert.Equal(launches, decision.Launch.Contains("web"));
        Assert.Equal(LocalStatus.Pending, decision.Phase);
    }

    [Fact]
    public void DependsOn_Success_WithAFailedDependency_FailsTheTask()
    {
        var task = Record(Spec(C("migrate", essential: false), C("web", deps: ("migrate", DependencyCondition.Success))));
        Observe(task, "migrate", ContainerRunState.Exited, 2);

        var decision = TaskPlanner.Decide(task);

        Assert.Equal(LocalStatus.Stopped, decision.Phase);
        Assert.Equal(TaskStopCode.TaskFailedToStart, decision.StopCode);
        Assert.Contains("DependencyConditionNotMet", decision.StoppedReason, StringComparison.Ordinal);
        Assert.Empty(decision.Launch);
    }

    [Fact]
    public void EssentialContainerExit_StopsTheOthers()
    {
        var task = Record(Spec(C("web"), C("sidecar", essential: false)));
        Observe(task, "web", ContainerRunState.Exited, 1);
        Observe(task, "sidecar", ContainerRunState.Running);

        var decision = TaskPlanner.Decide(task);

        Assert.Equal(LocalStatus.Stopping, decision.Phase);
        Assert.Equal(TaskStopCode.EssentialContainerExited, decision.StopCode);
        Assert.Equal(TaskPlanner.EssentialExitedReason, decision.StoppedReason);
        Assert.Equal(["sidecar"], decision.Stop);
    }

    [Fact]
    public void NonEssentialExit_KeepsTheTaskRunning()
    {
        var task = Record(Spec(C("web"), C("job", essential: false)));
        Observe(task, "web", ContainerRunState.Running);
        Observe(task, "job", ContainerRunState.Exited, 0);

        var decision = TaskPlanner.Decide(task);

        Assert.Equal(LocalStatus.Running, decision.Phase);
        Assert.Empty(decision.Stop);
        Assert.Empty(decision.Launch);
    }

    [Fact]
    public void StoppingTask_BecomesStopped_WhenNothingRuns()
    {
        var task = Record(Spec(C("web")) with { DesiredRunning = false, StopCode = TaskStopCode.UserInitiated, StoppedReason = "by hand" });
        Observe(task, "web", ContainerRunState.Running);

        var first = TaskPlanner.Decide(task);
        (task.Phase, task.StopCode, task.StoppedReason) = (first.Phase, first.StopCode, first.StoppedReason);
        Observe(task, "web", ContainerRunState.Exited, 0);
        var second = TaskPlanner.Decide(task);

        Assert.Equal(LocalStatus.Stopping, first.Phase);
        Assert.Equal(["web"], first.Stop);
        Assert.Equal(LocalStatus.Stopped, second.Phase);
        Assert.Equal("by hand", second.StoppedReason);
        Assert.False(second.Remove);
    }

    [Fact]
    public void UnwantedTask_IsStopped_ThenRemoved()
    {
        var task = Record(Spec(C("web")));
        Observe(task, "web", ContainerRunState.Running);
        task.Wanted = false;

        var first = TaskPlanner.Decide(task);
        task.Phase = first.Phase;
        Observe(task, "web", ContainerRunState.Exited, 0);
        var second = TaskPlanner.Decide(task);

        Assert.Equal(TaskStopCode.ServiceSchedulerInitiated, first.StopCode);
        Assert.Equal(["web"], first.Stop);
        Assert.True(second.Remove);
    }

    [Fact]
    public void AdoptedTaskWithoutSpec_IsWatched_NeverStoppedOrLaunched()
    {
        var task = new TaskRecord("t-1");
        Observe(task, "web", ContainerRunState.Running);

        var decision = TaskPlanner.Decide(task);

        Assert.Equal(LocalStatus.Running, decision.Phase);
        Assert.Empty(decision.Stop);
        Assert.Empty(decision.Launch);
    }

    [Fact]
    public void PullFailure_FailsTheTaskWithTheReason()
    {
        var task = Record(Spec(C("web")));
        task.Failures["web"] = "CannotPullContainerError: manifest unknown";

        var decision = TaskPlanner.Decide(task);

        Assert.Equal(LocalStatus.Stopped, decision.Phase);
        Assert.Equal(TaskStopCode.TaskFailedToStart, decision.StopCode);
        Assert.Equal("CannotPullContainerError: manifest unknown", decision.StoppedReason);
    }

    [Fact]
    public void LaunchedContainerThatVanished_CountsAsAnEssentialExit()
    {
        var task = Record(Spec(C("web")));
        task.Launched.Add("web");

        var decision = TaskPlanner.Decide(task);

        Assert.Equal(TaskStopCode.EssentialContainerExited, decision.StopCode);
        Assert.Empty(decision.Launch);
    }

    [Fact]
    public void CreatedButNotStartedContainer_IsStarted()
    {
        var task = Record(Spec(C("web")));
        Observe(task, "web", ContainerRunState.Created);

        Assert.Equal(["web"], TaskPlanner.Decide(task).Launch);
    }

    [Fact]
    public void Report_CarriesExitCodesPortsAndHealth()
    {
        var task = Record(Spec(C("web"), C("side", essential: false)));
        task.Phase = LocalStatus.Running;
        Observe(task, "web", ContainerRunState.Running, health: ContainerHealth.Unhealthy);
        task.Observed["web"] = task.Observed["web"] with { Ports = [new HostPortBinding(80, "tcp", 49200)] };
        Observe(task, "side", ContainerRunState.Exited, 3);

        var report = TaskStatusReport.From(task, 7);

        Assert.Equal(TaskHealth.Unhealthy, report.Health);
        Assert.Equal(49200, Assert.Single(report.Containers[0].Ports).HostPort);
        Assert.Equal((LocalStatus.Stopped, (int?)3), (report.Containers[1].Status, report.Containers[1].ExitCode));
        Assert.NotEqual(report.Fingerprint(), TaskStatusReport.From(Record(Spec(C("web"))), 7).Fingerprint());
    }

    internal static ContainerSpec C(string name, bool essential = true, params (string, DependencyCondition)[] deps) =>
        new() { Name = name, Image = "img:1", Essential = essential, DependsOn = deps };

    internal static TaskSpec Spec(params ContainerSpec[] containers) =>
        new() { TaskId = "t-1", Cluster = "default", TaskDefinition = "fam:1", Containers = containers };

    private static TaskRecord Record(TaskSpec spec) => new(spec.TaskId) { Spec = spec };

    private static void Observe(TaskRecord task, string name, ContainerRunState state, int? exit = null, ContainerHealth health = ContainerHealth.None)
    {
        task.Launched.Add(name);
        task.Observed[name] = new ContainerDetails
        {
            Id = "id-" + name,
            Name = name,
            Image = "img:1",
            Labels = new Dictionary<string, string>(),
            State = state,
            ExitCode = exit,
            Health = health,
        };
    }
}
