using Berth.Scheduler.CapacityProviders;
using Berth.Scheduler.Provisioning;
using Berth.Scheduler.Tests.HostGroups;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Fargate;

/// <summary>
/// A scheduler with the FARGATE pool on a fake clock, for the pool's tests: the pool's hosts are simulated agents made
/// by the fake provisioner (one attempt, no backoff), at most three of them; the loops' own timers are a day apart, so
/// a test moves <see cref="Clock"/> and runs the capacity provider <see cref="Pass"/> itself.
/// </summary>
public abstract class FargatePoolTest(ITestOutputHelper output, DateTimeOffset start) : HostGroupTest(output)
{
    /// <summary>A FARGATE task definition; two of its tasks fit a simulated host (2048 CPU units, 4096 MiB).</summary>
    private protected const string Serverless = """
        {"family":"api","networkMode":"awsvpc","cpu":"1024","memory":"2048","requiresCompatibilities":["FARGATE"],
         "containerDefinitions":[{"name":"app","image":"registry.local/api:1","portMappings":[{"containerPort":8080}]}]}
        """;

    private protected FakeTimeProvider Clock { get; } = new(start);

    private protected override TimeProvider? Time => Clock;

    private protected override IDictionary<string, string?>? Settings
    {
        get
        {
            var settings = new Dictionary<string, string?>
            {
                ["Scheduler:HeartbeatInterval"] = "00:10:00",
                ["Scheduler:LostHostGracePeriod"] = "1.00:00:00",
                ["HostGroups:Interval"] = "1.00:00:00",
                ["CapacityProviders:Interval"] = "1.00:00:00",
                ["FargatePool:MaxHosts"] = "3",
            };
            foreach (var (key, value) in PoolSettings)
            {
                settings[key] = value;
            }

            return settings;
        }
    }

    /// <summary>More pool settings of a test class (zones); none by default.</summary>
    private protected virtual IEnumerable<KeyValuePair<string, string?>> PoolSettings => [];

    private protected override void ConfigureProvisioning(IServiceCollection services) => services.Configure<ProvisioningOptions>(o =>
    {
        o.CreateAttempts = 1;
        o.RetryBackoff = TimeSpan.Zero;
        o.MaxRetryBackoff = TimeSpan.Zero;
    });

    private protected CapacityProviderReconciler Pass => Host.Services.GetRequiredService<CapacityProviderReconciler>();

    private protected async Task<CapacityProvider> DescribePoolAsync() =>
        (await Providers.DescribeCapacityProvidersAsync(new DescribeCapacityProvidersRequest { CapacityProviders = { "FARGATE" } }, Host.Admin)).CapacityProviders.Single();

    private protected async Task<CapacityProvider> WaitForPoolAsync(Func<CapacityProvider, bool> condition, string what)
    {
        CapacityProvider? last = null;
        await TaskTimeouts.WaitUntilAsync(async () => condition(last = await DescribePoolAsync()), what: what);
        return last!;
    }

    private protected async Task<List<TaskInfo>> WaitForServiceTasksAsync(string service, int count, Func<List<TaskInfo>, bool>? condition = null)
    {
        List<TaskInfo> tasks = [];
        await TaskTimeouts.WaitUntilAsync(
            async () =>
            {
                var arns = (await Host.Tasks.ListTasksAsync(new ListTasksRequest { ServiceName = service }, Host.Admin)).TaskArns;
                tasks = arns.Count == 0 ? [] : [.. (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { arns } }, Host.Admin)).Tasks];
                return tasks.Count == count && (condition?.Invoke(tasks) ?? true);
            },
            what: $"{count} tasks of service {service}");
        return tasks;
    }
}
