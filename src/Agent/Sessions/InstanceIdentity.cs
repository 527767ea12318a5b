using Berth.Agent.Configuration;

namespace Berth.Agent.Sessions;

/// <summary>Who this agent is to the scheduler, kept in <c>instance.json</c> in the state dir (mode 0600).</summary>
internal sealed record InstanceIdentity(string ContainerInstanceId, string ContainerInstanceArn, string Credential, string Cluster)
{
    public const string FileName = "instance.json";

    public static InstanceIdentity? Load(StateDirectory state) => state.Read<InstanceIdentity>(FileName);

    public void Save(StateDirectory state) => state.Write(FileName, this);
}
