using Berth.Scheduler.V1;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using V1 = Berth.Scheduler.V1;

namespace Berth.Cli.Common;

/// <summary>The scheduler's gRPC services over one channel, each call carrying the API token.</summary>
internal sealed class SchedulerClient : IDisposable
{
    private readonly GrpcChannel _channel;

    public SchedulerClient(Uri endpoint, string? token)
    {
        Endpoint = endpoint;
        _channel = GrpcChannel.ForAddress(endpoint);
        var invoker = _channel.Intercept(metadata =>
        {
            if (!string.IsNullOrEmpty(token))
            {
                metadata.Add("authorization", "Bearer " + token);
            }

            return metadata;
        });
        Clusters = new V1.Clusters.ClustersClient(invoker);
        TaskDefinitions = new V1.TaskDefinitions.TaskDefinitionsClient(invoker);
        Tasks = new V1.Tasks.TasksClient(invoker);
        Instances = new V1.ContainerInstances.ContainerInstancesClient(invoker);
        Services = new V1.Services.ServicesClient(invoker);
        LoadBalancing = new V1.LoadBalancing.LoadBalancingClient(invoker);
        AutoScaling = new V1.ApplicationAutoScaling.ApplicationAutoScalingClient(invoker);
        Metrics = new V1.Metrics.MetricsClient(invoker);
        SecurityGroups = new V1.SecurityGroups.SecurityGroupsClient(invoker);
        HostGroups = new V1.HostGroups.HostGroupsClient(invoker);
        CapacityProviders = new V1.CapacityProviders.CapacityProvidersClient(invoker);
    }

    public Uri Endpoint { get; }

    public V1.Clusters.ClustersClient Clusters { get; }

    public V1.TaskDefinitions.TaskDefinitionsClient TaskDefinitions { get; }

    public V1.Tasks.TasksClient Tasks { get; }

    public V1.ContainerInstances.ContainerInstancesClient Instances { get; }

    public V1.Services.ServicesClient Services { get; }

    public V1.LoadBalancing.LoadBalancingClient LoadBalancing { get; }

    public V1.ApplicationAutoScaling.ApplicationAutoScalingClient AutoScaling { get; }

    public V1.Metrics.MetricsClient Metrics { get; }

    public V1.SecurityGroups.SecurityGroupsClient SecurityGroups { get; }

    public V1.HostGroups.HostGroupsClient HostGroups { get; }

    public V1.CapacityProviders.CapacityProvidersClient CapacityProviders { get; }

    /// <summary>Follows <c>next_token</c> until the last page and returns every item.</summary>
    public static async Task<List<T>> AllPagesAsync<T>(Func<string, Task<(IEnumerable<T> Items, string NextToken)>> page)
    {
        var all = new List<T>();
        var token = string.Empty;
        do
        {
            var (items, next) = await page(token);
            all.AddRange(items);
            token = next;
        }
        while (!string.IsNullOrEmpty(token));
        return all;
    }

    /// <summary>Splits ids into chunks of <paramref name="size"/> for describe calls that take a bounded list.</summary>
    public static IEnumerable<string[]> Chunks(IEnumerable<string> ids, int size) => ids.Chunk(size);

    public void Dispose() => _channel.Dispose();

    /// <summary>A status the CLI raises itself for a describe that returned only failures.</summary>
    public static RpcException Missing(string what, IEnumerable<Failure> failures) =>
        new(new Status(StatusCode.NotFound, $"{what} {string.Join(", ", failures.Select(f => $"'{Display.ShortArn(f.Arn)}' ({f.Reason})"))}"));
}
