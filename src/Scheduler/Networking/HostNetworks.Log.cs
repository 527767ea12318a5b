namespace Berth.Scheduler.Networking;

internal sealed partial class HostNetworks
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Container instance {InstanceId} of cluster {Cluster} has task subnet {Subnet}")]
        public static partial void SubnetAssigned(ILogger logger, string instanceId, string cluster, string subnet);

        [LoggerMessage(2, LogLevel.Warning, "Container instance {InstanceId} of cluster {Cluster} gets no task subnet: every /{Prefix} of {Cidr} is taken; its awsvpc tasks cannot start (hosts after it that get none are logged at Debug until a subnet frees up; a cluster created with a larger --task-cidr, or smaller host subnets through Scheduler:Awsvpc:HostSubnetPrefixLength, holds more hosts)")]
        public static partial void NoFreeSubnet(ILogger logger, string instanceId, string cluster, string cidr, int prefix);

        [LoggerMessage(4, LogLevel.Debug, "Container instance {InstanceId} of cluster {Cluster} gets no task subnet either")]
        public static partial void NoFreeSubnetAgain(ILogger logger, string instanceId, string cluster);

        [LoggerMessage(3, LogLevel.Warning, "Cluster {Cluster} gets no task CIDR: the pool {Pool} has no free block left; its awsvpc tasks cannot start")]
        public static partial void PoolExhausted(ILogger logger, string cluster, string pool);
    }
}
