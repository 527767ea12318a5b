using Berth.Agent.Isolation;
using Berth.Agent.Networking;
using Berth.Core.TaskDefinitions;

namespace Berth.Agent.Tests.Isolation;

public sealed class IsolationUnitTests
{
    [Theory]
    [InlineData("""{"family":"f","networkMode":"awsvpc","cpu":"256","memory":"512","containerDefinitions":[{"name":"a","image":"i"}]}""", null)]
    [InlineData("""{"family":"f","networkMode":"bridge","cpu":"256","memory":"512","containerDefinitions":[{"name":"a","image":"i"}]}""", "FARGATE tasks need networkMode awsvpc, not bridge")]
    [InlineData("""{"family":"f","networkMode":"awsvpc","containerDefinitions":[{"name":"a","image":"i","mountPoints":[{"sourceVolume":"h","containerPath":"/h"}]}],"volumes":[{"name":"h","host":{"sourcePath":"/etc"}}]}""", "FARGATE tasks cannot mount host paths: volume 'h' has host.sourcePath /etc")]
    [InlineData("""{"family":"f","networkMode":"awsvpc","containerDefinitions":[{"name":"a","image":"i"}],"volumes":[{"name":"s","dockerVolumeConfiguration":{"scope":"shared","autoprovision":true}}]}""", "FARGATE tasks cannot use host-scoped Docker volumes: volume 's' has scope shared")]
    [InlineData("""{"family":"f","networkMode":"awsvpc","containerDefinitions":[{"name":"a","image":"i","privileged":true}]}""", "FARGATE tasks cannot run privileged containers: container 'a' has privileged true")]
    [InlineData("""{"family":"f","networkMode":"awsvpc","containerDefinitions":[{"name":"a","image":"i","linuxParameters":{"capabilities":{"add":["NET_ADMIN"]}}}]}""", "FARGATE tasks cannot add capabilities: container 'a' has linuxParameters.capabilities.add")]
    [InlineData("""{"family":"f","networkMode":"awsvpc","pidMode":"host","containerDefinitions":[{"name":"a","image":"i"}]}""", "FARGATE tasks cannot share the host's namespaces: pidMode is host")]
    public void FargatePolicy_RefusesWhatWouldReachTheHost(string json, string? expected)
    {
        Assert.Equal(expected, FargatePolicy.Check(TaskDefinitionJson.ParseStored(json)));
    }

    [Fact]
    public void SandboxImage_NeedsAStaticBusybox_AndCarriesItsApplets()
    {
        Assert.True(SandboxImage.IsStaticElf(File.ReadAllBytes("/bin/busybox")), "Debian's busybox-static is static");
        Assert.False(SandboxImage.IsStaticElf(File.ReadAllBytes("/bin/ls")), "ls needs the dynamic loader");
        Assert.False(SandboxImage.IsStaticElf("#!/bin/sh\n"u8));
        Assert.Throws<NetworkSetupException>(() => SandboxImage.BuildRootfs("/bin/ls"));

        using var tar = SandboxImage.BuildRootfs("/bin/busybox");
        using var reader = new System.Formats.Tar.TarReader(tar);
        var entries = new Dictionary<string, System.Formats.Tar.TarEntry>();
        while (reader.GetNextEntry() is { } entry)
        {
            entries[entry.Name] = entry;
        }

        Assert.Equal(new FileInfo("/bin/busybox").Length, entries["bin/busybox"].Length);
        Assert.Equal("busybox", entries["bin/sh"].LinkName);
        Assert.Equal("busybox", entries["bin/sleep"].LinkName);
        Assert.Contains("etc/", entries.Keys);
    }
}
