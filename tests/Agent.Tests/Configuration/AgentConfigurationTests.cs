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
            var options = Build(["--config", file, "--instance-type", "lab.cli", "--state-dir", "/tmp/x"]);

            Assert.Equal(new Uri("http://10.0.0.1:7070"), options.SchedulerUrl);
            Assert.Equal("fromfile", options.Cluster);
            Assert.Equal("zenv", options.Zone);
            Assert.Equal("lab.cli", options.InstanceType);
            Assert.Equal("/tmp/x", options.StateDirectory);
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
