using Berth.Core.TaskDefinitions;

namespace Berth.Core.Tests.TaskDefinitions;

/// <summary>Volumes, mount points and log configuration: what registers, and errors that name the field.</summary>
public sealed class StorageValidationTests
{
    private const string Valid = """
        {
          "family": "stateful",
          "volumes": [
            { "name": "config", "host": { "sourcePath": "/etc/app" } },
            { "name": "scratch", "host": {} },
            { "name": "empty" },
            { "name": "cache", "dockerVolumeConfiguration": { "scope": "task", "driver": "local", "driverOpts": { "type": "tmpfs", "device": "tmpfs" }, "labels": { "team": "web" } } },
            { "name": "shared-data", "dockerVolumeConfiguration": { "scope": "shared", "autoprovision": true } }
          ],
          "containerDefinitions": [
            {
              "name": "app", "image": "app:1", "memory": 64,
              "mountPoints": [
                { "sourceVolume": "config", "containerPath": "/config", "readOnly": true },
                { "sourceVolume": "cache", "containerPath": "/cache" },
                { "sourceVolume": "shared-data", "containerPath": "/data" }
              ],
              "logConfiguration": { "logDriver": "json-file", "options": { "max-size": "10m", "max-file": "3" } }
            },
            { "name": "quiet", "image": "app:1", "memory": 64, "logConfiguration": { "logDriver": "none" } },
            { "name": "remote", "image": "app:1", "memory": 64, "logConfiguration": { "logDriver": "syslog", "options": { "syslog-address": "udp://10.0.0.1:514" } } }
          ]
        }
        """;

    [Fact]
    public void Parse_VolumesMountsAndLogs_RegisterAndRoundTrip()
    {
        var definition = TaskDefinitionJson.Parse(Valid);

        var cache = definition.Volumes![3].DockerVolumeConfiguration!;
        Assert.Equal("task", cache.EffectiveScope);
        Assert.Equal("tmpfs", cache.DriverOpts!["type"]);
        Assert.True(definition.Volumes[4].DockerVolumeConfiguration!.Autoprovision);
        Assert.True(definition.ContainerDefinitions![0].MountPoints![0].ReadOnly);
        var again = TaskDefinitionJson.Parse(TaskDefinitionJson.Serialize(definition));
        Assert.Equal(TaskDefinitionJson.Serialize(definition), TaskDefinitionJson.Serialize(again));
    }

    [Theory]
    [InlineData("""{"volumes":[{"name":"v","host":{"sourcePath":"relative/dir"}}]}""", "volumes[0].host.sourcePath: must be an absolute path")]
    [InlineData("""{"volumes":[{"name":"bad name"}]}""", "volumes[0].name: must be 1-255 letters, digits, hyphens and underscores")]
    [InlineData("""{"volumes":[{"name":"v"},{"name":"v"}]}""", "volumes[1].name: duplicate volume name 'v'")]
    [InlineData("""{"volumes":[{"name":"v","dockerVolumeConfiguration":{"scope":"global"}}]}""", "volumes[0].dockerVolumeConfiguration.scope: must be task or shared")]
    [InlineData("""{"volumes":[{"name":"v","dockerVolumeConfiguration":{"scope":"task","autoprovision":true}}]}""", "volumes[0].dockerVolumeConfiguration.autoprovision: applies only to shared scope")]
    [InlineData("""{"volumes":[{"name":"v","host":{"sourcePath":"/x"},"dockerVolumeConfiguration":{}}]}""", "volumes[0].dockerVolumeConfiguration: cannot be combined with host")]
    [InlineData("""{"volumes":[{"name":"v","dockerVolumeConfiguration":{"driver":"my driver"}}]}""", "volumes[0].dockerVolumeConfiguration.driver: must be a volume driver name")]
    [InlineData("""{"volumes":[{"name":"v","efsVolumeConfiguration":{"fileSystemId":"fs-1"}}]}""", "volumes[0].efsVolumeConfiguration: is not supported by Berth; use host (a bind mount) or dockerVolumeConfiguration")]
    [InlineData("""{"volumes":[{"name":"v"}],"mount":[{"sourceVolume":"v","containerPath":"data"}]}""", "containerDefinitions[0].mountPoints[0].containerPath: must be an absolute path")]
    [InlineData("""{"volumes":[{"name":"v"}],"mount":[{"sourceVolume":"v","containerPath":"/d"},{"sourceVolume":"v","containerPath":"/d/"}]}""", "containerDefinitions[0].mountPoints[1].containerPath: '/d/' is mounted twice")]
    [InlineData("""{"log":{"options":{"max-size":"1m"}}}""", "containerDefinitions[0].logConfiguration.logDriver: is required")]
    [InlineData("""{"log":{"logDriver":"awsfirelens"}}""", "containerDefinitions[0].logConfiguration.logDriver: must be one of json-file, local, none, syslog, journald, gelf, fluentd, awslogs, splunk, gcplogs, logentries")]
    [InlineData("""{"log":{"logDriver":"json-file","options":{"max-sise":"1m"}}}""", "containerDefinitions[0].logConfiguration.options.max-sise: is not an option of the json-file log driver (max-size, max-file, compress, labels, labels-regex, env, env-regex, tag, mode, max-buffer-size)")]
    [InlineData("""{"log":{"logDriver":"none","options":{"max-size":"1m"}}}""", "containerDefinitions[0].logConfiguration.options.max-size: the none log driver takes no options")]
    [InlineData("""{"log":{"logDriver":"json-file","secretOptions":[{"name":"k","valueFrom":"arn"}]}}""", "containerDefinitions[0].logConfiguration.secretOptions: is not supported by Berth")]
    public void Parse_InvalidStorageField_ErrorNamesTheField(string parts, string expected)
    {
        var e = Assert.Throws<TaskDefinitionException>(() => TaskDefinitionJson.Parse(Compose(parts)));

        Assert.Contains(expected, e.Errors.Select(x => x.ToString()));
    }

    // {"volumes": [...], "mount": [...], "log": {...}} -> a definition with one container carrying them.
    private static string Compose(string parts)
    {
        using var json = System.Text.Json.JsonDocument.Parse(parts);
        var root = json.RootElement;
        string Raw(string name, string fallback) => root.TryGetProperty(name, out var value) ? value.GetRawText() : fallback;
        return $$"""
            {"family":"f","volumes":{{Raw("volumes", "[]")}},"containerDefinitions":[{"name":"a","image":"i","memory":64,
              "mountPoints":{{Raw("mount", "[]")}}{{(root.TryGetProperty("log", out var log) ? $",\"logConfiguration\":{log.GetRawText()}" : "")}}}]}
            """;
    }
}
