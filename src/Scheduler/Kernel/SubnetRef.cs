namespace Berth.Scheduler.Kernel;

/// <summary>
/// A subnet a task or service names (ECS awsvpcConfiguration.subnets): its id and the zone it stands for. The zone is
/// kept beside the id because the id is derived from it (<see cref="Networking.Subnets.IdOf"/>) and cannot be turned
/// back: a service keeps to its zones even while a zone has no host.
/// </summary>
internal sealed record SubnetRef(string Id, string Zone);
