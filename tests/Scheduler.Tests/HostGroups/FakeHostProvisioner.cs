using System.Collections.Concurrent;
using Berth.Scheduler.Provisioning;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Grpc.Net.Client;

namespace Berth.Scheduler.Tests.HostGroups;

/// <summary>
/// A test double of <see cref="IHostProvisioner"/> (tests only): a "host" is a <see cref="SimulatedAgent"/> that registers
/// with the scheduler at the request's URL with the request's one-use join token, zone, instance type and attributes, as a
/// real provisioned agent does. <see cref="OnCreate"/> replaces a create (a failure, a hang); hosts may be added by hand
/// (<see cref="AddStray"/>) to stand for what a provisioner has and no group knows. Outlives scheduler restarts.
/// </summary>
internal sealed class FakeHostProvisioner : IHostProvisioner, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, (ProvisionedHost Host, SimulatedAgent? Agent)> _hosts = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _calls = new();

    public string Kind => "fake";

    /// <summary>Replaces the next creates; null makes them normally (register, connect, Running).</summary>
    public Func<HostRequest, CancellationToken, Task<ProvisionedHost>>? OnCreate { get; set; }

    /// <summary>Every call in order: <c>create NAME</c>, <c>destroy NAME</c>, <c>list</c>.</summary>
    public IReadOnlyList<string> Calls => [.. _calls];

    /// <summary>The join tokens creates were given, by host.</summary>
    public ConcurrentDictionary<string, string> Tokens { get; } = new(StringComparer.Ordinal);

    /// <summary>The requests creates were given, by host.</summary>
    public ConcurrentDictionary<string, HostRequest> Requests { get; } = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> Names => [.. _hosts.Keys];

    public SimulatedAgent? Agent(string name) => _hosts.TryGetValue(name, out var entry) ? entry.Agent : null;

    /// <summary>The host's agent stops (its session ends, nothing more is heard from it); the host stays.</summary>
    public async Task SilenceAsync(string name)
    {
        var (host, agent) = _hosts[name];
        _hosts[name] = (host, null);
        await agent!.DisposeAsync();
    }

    public void AddStray(string name, ProvisionedHostState state) => _hosts[name] = (new ProvisionedHost(name, state), null);

    public async Task<ProvisionedHost> CreateAsync(HostRequest request, CancellationToken cancellationToken)
    {
        _calls.Enqueue($"create {request.Name}");
        Tokens[request.Name] = request.JoinToken;
        Requests[request.Name] = request;
        _hosts[request.Name] = (new ProvisionedHost(request.Name, ProvisionedHostState.Creating), null);
        if (OnCreate is { } create)
        {
            return await create(request, cancellationToken);
        }

        return await MakeAsync(request);
    }

    /// <summary>What a working create does: the host's agent registers and connects; the host is Running.</summary>
    public async Task<ProvisionedHost> MakeAsync(HostRequest request, bool connect = true)
    {
        var agent = await RegisterAsync(request, connect);
        var host = new ProvisionedHost(request.Name, ProvisionedHostState.Running, "10.0.0.1", request.Name, Scheduler.Kernel.Arns.ContainerInstance(request.Cluster, agent.InstanceId));
        _hosts[request.Name] = (host, agent);
        return host;
    }

    /// <summary>Registers the host's agent the way a provisioned host's does.</summary>
    public async Task<SimulatedAgent> RegisterAsync(HostRequest request, bool connect = true)
    {
        var facts = SimulatedAgent.DefaultFacts(zone: request.Zone);
        facts.Hostname = request.Name;
        facts.InstanceType = request.InstanceType;
        facts.Attributes.AddRange(request.AgentAttributes.Select(a => new InstanceAttribute { Name = a.Key, Value = a.Value }));
        var channel = GrpcChannel.ForAddress(request.SchedulerUrl);
        var client = new AgentService.AgentServiceClient(channel);
        SimulatedAgent? agent = null;
        // As a real agent does, it retries while the scheduler does not answer yet: after a restart the host-group
        // pass can launch before the scheduler listens.
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            try
            {
                agent = await SimulatedAgent.RegisterAsync(client, request.JoinToken, request.Cluster, facts, connect);
                return true;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), $"host {request.Name}'s agent to register");
        _hosts[request.Name] = (new ProvisionedHost(request.Name, ProvisionedHostState.Creating), agent);
        return agent!;
    }

    public async Task DestroyAsync(string name, CancellationToken cancellationToken)
    {
        _calls.Enqueue($"destroy {name}");
        if (_hosts.TryRemove(name, out var entry) && entry.Agent is not null)
        {
            await entry.Agent.DisposeAsync();
        }
    }

    public Task<IReadOnlyList<ProvisionedHost>> ListAsync(CancellationToken cancellationToken)
    {
        _calls.Enqueue("list");
        return Task.FromResult<IReadOnlyList<ProvisionedHost>>([.. _hosts.Values.Select(h => h.Host)]);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (_, agent) in _hosts.Values)
        {
            if (agent is not null)
            {
                await agent.DisposeAsync();
            }
        }
    }
}
