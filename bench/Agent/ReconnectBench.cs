using System.Diagnostics;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Grpc.Net.Client;

/// <summary>
/// `--reconnect`: the real scheduler and agent processes; the scheduler is stopped for an outage (30 s by default),
/// started again on the same data directory and port, and the time from "the scheduler serves again" to "the agent's
/// instance is connected" is measured, with the session attempts the agent made during the outage.
/// </summary>
internal static class ReconnectBench
{
    public static async Task RunAsync(string repo, int outageSeconds, int rounds)
    {
        var work = Directory.CreateTempSubdirectory("berth-bench-reconnect-");
        var port = TestPorts.Next();
        var data = Path.Combine(work.FullName, "s");
        var schedulerDll = Path.Combine(repo, "src/Scheduler/bin/Release/net10.0/Berth.Scheduler.dll");
        var agentBinary = Path.Combine(repo, "src/Agent/bin/Release/net10.0/Berth.Agent");
        ServiceProcess StartScheduler() => ServiceProcess.Start("scheduler", schedulerDll, ["--urls", $"http://127.0.0.1:{port}", "--data-dir", data, "--Logging:LogLevel:Default", "Warning"]);

        var scheduler = StartScheduler();
        var tokens = await SchedulerTokens.ReadAsync(data, TimeSpan.FromSeconds(60));
        var admin = new Metadata { { "authorization", "Bearer " + tokens.Admin } };
        File.WriteAllText(Path.Combine(work.FullName, "agent.json"), "{}");
        var attempts = 0;
        var portOpenedSeen = 0;
        await using var agent = ServiceProcess.Start("agent", agentBinary,
        [
            "--config", Path.Combine(work.FullName, "agent.json"), "--scheduler-url", $"http://127.0.0.1:{port}", "--join-token", tokens.Join,
            "--cluster", "bench", "--data-dir", Path.Combine(work.FullName, "a"), "--scope", "bench-reconnect-" + Guid.NewGuid().ToString("N")[..6],
            "--ReservedMemory", "0", "--ImageCleanup:Enabled", "false", "--TaskCleanup:Wait", "00:00:00", "--Logging:LogLevel:Default", "Information",
        ], line =>
        {
            if (line.Contains("Reconnecting in", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref attempts);
            }

            if (line.Contains("port opened", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref portOpenedSeen);
            }
        });
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var instances = new ContainerInstances.ContainerInstancesClient(channel);
        await TaskTimeouts.WaitUntilAsync(() => ConnectedAsync(instances, admin), TimeSpan.FromSeconds(60), "the agent to connect");

        try
        {
            for (var round = 1; round <= rounds; round++)
            {
                await scheduler.StopAsync();
                await scheduler.DisposeAsync();
                var before = Volatile.Read(ref attempts);
                await Task.Delay(TimeSpan.FromSeconds(outageSeconds));
                var during = Volatile.Read(ref attempts) - before;

                var started = Stopwatch.StartNew();
                scheduler = StartScheduler();
                await TaskTimeouts.WaitUntilAsync(async () =>
                {
                    try
                    {
                        await new Clusters.ClustersClient(channel).ListClustersAsync(new ListClustersRequest(), admin);
                        return true;
                    }
                    catch (RpcException)
                    {
                        return false;
                    }
                }, TimeSpan.FromSeconds(120), "the scheduler to serve");
                var serving = started.Elapsed;
                await TaskTimeouts.WaitUntilAsync(() => ConnectedAsync(instances, admin), TimeSpan.FromMinutes(3), "the agent to reconnect");
                var connected = started.Elapsed;
                Console.WriteLine(
                    $"round {round}: outage {outageSeconds} s, session attempts during it {during}; scheduler serving {serving.TotalMilliseconds:0} ms after start, " +
                    $"agent connected {(connected - serving).TotalMilliseconds:0} ms after that ({connected.TotalMilliseconds:0} ms after start); port-opened shortcuts so far {Volatile.Read(ref portOpenedSeen)}");
            }
        }
        finally
        {
            await scheduler.DisposeAsync();
            await agent.KillAsync();
            work.Delete(recursive: true);
        }
    }

    private static async Task<bool> ConnectedAsync(ContainerInstances.ContainerInstancesClient instances, Metadata admin)
    {
        try
        {
            var list = await instances.ListContainerInstancesAsync(new ListContainerInstancesRequest { Cluster = "bench" }, admin);
            return list.ContainerInstanceArns.Count == 1
                && (await instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { Cluster = "bench", ContainerInstances = { list.ContainerInstanceArns } }, admin)).ContainerInstances[0].AgentConnected;
        }
        catch (RpcException)
        {
            return false;
        }
    }
}
