using Berth.Scheduler.Provisioning;

namespace Berth.Scheduler.Tests.Provisioning;

/// <summary>The lab provisioner's settings as the scheduler checks them at start (<c>berth up</c> sets them as root).</summary>
public sealed class ProvisioningOptionsValidatorTests : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("berth-provisioning-options-");

    [Fact]
    public void Lab_ForwardedPortsThatAreTcpPorts_AreAccepted()
    {
        var options = Lab();
        options.Lab.ForwardedPorts = [5000, 65535, 1];

        Assert.True(new ProvisioningOptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public void Lab_AForwardedPortOutsideTheTcpRange_IsRefusedByName()
    {
        var options = Lab();
        options.Lab.ForwardedPorts = [5000, 0, 70000];

        var result = new ProvisioningOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Provisioning:Lab:ForwardedPorts: 0 is not a TCP port (1-65535).", result.Failures!);
        Assert.Contains("Provisioning:Lab:ForwardedPorts: 70000 is not a TCP port (1-65535).", result.Failures!);
        Assert.Equal(2, result.Failures!.Count());
    }

    public void Dispose() => _work.Delete(recursive: true);

    private ProvisioningOptions Lab()
    {
        var agent = Path.Combine(_work.FullName, "Berth.Agent.dll");
        File.WriteAllText(agent, "");
        var scripts = Directory.CreateDirectory(Path.Combine(_work.FullName, "lab")).FullName;
        File.WriteAllText(Path.Combine(scripts, "host.sh"), "");
        var options = new ProvisioningOptions { Kind = "lab" };
        options.Lab.DataDirectory = Path.Combine(_work.FullName, "data");
        options.Lab.AgentPath = agent;
        options.Lab.ScriptsDirectory = scripts;
        return options;
    }
}
