using Berth.Agent.Configuration;

namespace Berth.Agent.Sessions;

/// <summary>Who this agent is to the scheduler, kept in <see cref="AgentDataDirectory.Instance"/> (mode 0600).</summary>
internal sealed record InstanceIdentity(string ContainerInstanceId, string ContainerInstanceArn, string Credential, string Cluster)
{
    public static InstanceIdentity? Load(AgentDataDirectory data) => AgentDataDirectory.Read<InstanceIdentity>(data.Instance);

    public void Save(AgentDataDirectory data) => AgentDataDirectory.Write(data.Instance, this);
}
