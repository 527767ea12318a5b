using Berth.Agent.Configuration;
using Berth.Agent.Hosting;
using Berth.Agent.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Tests.Configuration;

public sealed class AgentConfigurationTests
{
    [Fact]
    public void FileThenEnvironmentThenCommandLine_EachOverridesTheOneBefore()
    {
        var dir = Directory.CreateTempSubdirectory("berth-config-");
        var file = Path.Combine(dir.FullName, "agent.json");
        File.WriteAllText(file, """
            {"SchedulerUrl":"http://10.0.0.1:7070","Cluster":"fromfile","Zone":"zfile","ReservedMemory":100,
             "Attributes":{"team":"web"},"ImagePullBehavior":"PreferCached","ImageCleanup":{"MinimumAge":"00:30:00"}}
            """);
        Environment.SetEnvironmentVariable("BERTH_ZONE", "zenv");
        Environment.SetEnvironmentVariable("BERTH_INSTANCETYPE", "lab.env");
        try
        {
            var options = Build(["--config", file, "--instance-type", "lab.cli", "--data-dir", "/tmp/x"]);

            Assert.Equal(new Uri("http://10.0.0.1:7070"), options.SchedulerUrl);
            Assert.Equal("fromfile", options.Cluster);
            Assert.Equal("zenv", options.Zone);
            Assert.Equal("lab.cli", options.InstanceType);
            Assert.Equal("/tmp/x", options.DataDirectory);
            Assert.Equal(100, options.ReservedMemory);
            Assert.Equal("web", options.Attributes["team"]);
            Assert.Equal(ImagePullBehavior.PreferCached, options.ImagePullBehavior);
            Assert.Equal(TimeSpan.FromMinutes(30), options.ImageCleanup.MinimumAge);
        }
        finally
        {
            Environment.SetEnvironmentVariable("BERTH_ZONE", null);
            Environment.SetEnvironmentVariable("BERTH_INSTANCETYPE", null);
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void InvalidSettings_FailValidation_NamingTheField()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Build(["--scheduler-url", "http://x:1", "--cluster", "bad name!", "--dynamic-port-first", "60000", "--dynamic-port-last", "50000"]));

        Assert.Contains("DynamicPortFirst", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--TaskCleanup:Wait", "-00:01:00", "TaskCleanup:Wait")]
    [InlineData("--TaskCleanup:MaxRetainedTasks", "-1", "TaskCleanup:MaxRetainedTasks")]
    [InlineData("--ImagePullBackoff:Maximum", "00:00:01", "ImagePullBackoff:Initial")]
    public void CleanupAndBackoffSettings_AreValidated_NamingTheKey(string key, string value, string named)
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Build(["--scheduler-url", "http://x:1", key, value]));

        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CleanupAndBackoff_BindFromTheCommandLine()
    {
        var options = Build(["--scheduler-url", "http://x:1", "--TaskCleanup:Wait", "00:30:00", "--ImagePullBackoff:Maximum", "00:15:00"]);

        Assert.Equal((TimeSpan.FromMinutes(30), TimeSpan.FromMinutes(15)), (options.TaskCleanup.Wait, options.ImagePullBackoff.Maximum));
        Assert.Equal((100, 64 * 1024), (options.TaskCleanup.MaxRetainedTasks, options.TaskCleanup.SavedLogBytesPerContainer));
    }

    [Theory]
    [InlineData("--Awsvpc:TaskSubnet", "10.240.1.0/30", "Awsvpc:TaskSubnet must be an IPv4 CIDR from /16 to /28")]
    [InlineData("--task-subnet", "banana", "Awsvpc:TaskSubnet must be an IPv4 CIDR")]
    [InlineData("--Awsvpc:PeerRoutes:0:Via", "10.0.0.12", "Awsvpc:PeerRoutes:0 needs Subnet")]
    [InlineData("--Awsvpc:BridgeName", "a-bridge-name-too-long", "Awsvpc:BridgeName")]
    [InlineData("--Cgroups:Parent", "relative/path", "Cgroups:Parent")]
    [InlineData("--Awsvpc:DnsUpstreams:0", "resolver.example", "'resolver.example' is not an IP address")]
    public void InvalidAwsvpcSettings_FailValidation_NamingTheKey(string key, string value, string expected)
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Build(["--scheduler-url", "http://x:1", key, value]));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PeerRouteOverlappingTheTaskSubnet_FailsValidation()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Build(["--scheduler-url", "http://x:1", "--task-subnet", "10.240.1.0/24",
            "--Awsvpc:PeerRoutes:0:Subnet", "10.240.0.0/16", "--Awsvpc:PeerRoutes:0:Via", "10.0.0.12"]));

        Assert.Contains("overlaps Awsvpc:TaskSubnet 10.240.1.0/24", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AwsvpcSettings_Bind()
    {
        var options = Build(["--scheduler-url", "http://x:1", "--task-subnet", "10.240.1.0/24", "--cluster-cidr", "10.240.0.0/16",
            "--Awsvpc:PeerRoutes:0:Subnet", "10.240.2.0/24", "--Awsvpc:PeerRoutes:0:Via", "10.0.0.12", "--Fargate:Runtime", "runsc"]);

        Assert.Equal(("10.240.1.0/24", "10.240.0.0/16"), (options.Awsvpc.TaskSubnet, options.Awsvpc.ClusterCidr));
        Assert.Equal(("10.240.2.0/24", "10.0.0.12"), (options.Awsvpc.PeerRoutes[0].Subnet, options.Awsvpc.PeerRoutes[0].Via));
        Assert.Equal(("runsc", "/berth", "berth0"), (options.Fargate.Runtime, options.Cgroups.Parent, options.Awsvpc.BridgeName));
    }

    [Fact]
    public void OldStateDirectorySetting_FailsValidation_NamingTheNewOne()
    {
        Environment.SetEnvironmentVariable("BERTH_STATEDIRECTORY", "/var/lib/old");
        try
        {
            var ex = Assert.Throws<OptionsValidationException>(() => Build(["--scheduler-url", "http://x:1"]));

            Assert.Contains("StateDirectory is now DataDirectory (--data-dir", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("BERTH_STATEDIRECTORY", null);
        }
    }

    [Fact]
    public void MissingSchedulerUrl_FailsValidation()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Build([]));

        Assert.Contains("SchedulerUrl", ex.Message, StringComparison.Ordinal);
    }

    private static AgentOptions Build(string[] args)
    {
        var builder = Host.CreateApplicationBuilder([]);
        builder.AddAgentConfiguration(args);
        builder.AddAgentServices();
        using var host = builder.Build();
        return host.Services.GetRequiredService<IOptions<AgentOptions>>().Value;
    }
}
