using System.Text.Json;
using Berth.Core.TaskDefinitions;

namespace Berth.Core.Tests.TaskDefinitions;

public class TaskDefinitionJsonTests
{
    // The "Example task definitions" page of the ECS developer guide: a web server on the EC2 launch type.
    private const string WebServer = """
        {
          "family": "webserver",
          "containerDefinitions": [
            {
              "name": "web",
              "image": "nginx",
              "memory": 100,
              "cpu": 99,
              "portMappings": [ { "containerPort": 80, "hostPort": 80 } ],
              "essential": true,
              "logConfiguration": { "logDriver": "awslogs", "options": { "awslogs-group": "web", "awslogs-region": "us-west-2" } }
            }
          ],
          "requiresCompatibilities": [ "EC2" ],
          "networkMode": "bridge"
        }
        """;

    // The WordPress example with links, dynamic ports and a second container (ECS docs, "Example task definitions").
    private const string WordPress = """
        {
          "containerDefinitions": [
            {
              "name": "wordpress",
              "links": [ "mysql" ],
              "image": "wordpress",
              "essential": true,
              "portMappings": [ { "containerPort": 80, "hostPort": 80 } ],
              "memory": 500,
              "cpu": 10
            },
            {
              "environment": [ { "name": "MYSQL_ROOT_PASSWORD", "value": "password" } ],
              "name": "mysql",
              "image": "mysql",
              "cpu": 10,
              "memory": 500,
              "essential": true
            }
          ],
          "family": "hello_world"
        }
        """;

    // A Fargate definition with task-level sizes in the forms the console writes, health check and dependsOn.
    private const string Fargate = """
        {
          "family": "api",
          "networkMode": "awsvpc",
          "requiresCompatibilities": ["FARGATE"],
          "cpu": "1 vCPU",
          "memory": "2 GB",
          "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
          "runtimePlatform": { "operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64" },
          "containerDefinitions": [
            {
              "name": "app",
              "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.4",
              "portMappings": [ { "containerPort": 8080, "protocol": "tcp", "name": "http", "appProtocol": "http" } ],
              "dependsOn": [ { "containerName": "migrate", "condition": "SUCCESS" } ],
              "healthCheck": { "command": ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"], "interval": 10, "timeout": 5, "retries": 3, "startPeriod": 30 },
              "stopTimeout": 30,
              "ulimits": [ { "name": "nofile", "softLimit": 65536, "hardLimit": 65536 } ]
            },
            {
              "name": "migrate",
              "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.4",
              "command": ["migrate", "--yes"],
              "essential": false
            }
          ]
        }
        """;

    [Theory]
    [InlineData(WebServer)]
    [InlineData(WordPress)]
    [InlineData(Fargate)]
    public void Parse_RealEcsExamples_AreValid(string json)
    {
        var definition = TaskDefinitionJson.Parse(json);

        Assert.NotNull(definition.Family);
        Assert.NotEmpty(definition.ContainerDefinitions!);
    }

    [Fact]
    public void Parse_WebServer_ReadsEveryField()
    {
        var d = TaskDefinitionJson.Parse(WebServer);

        var web = Assert.Single(d.ContainerDefinitions!);
        Assert.Equal("web", web.Name);
        Assert.Equal(99, web.Cpu);
        Assert.Equal(100, web.Memory);
        Assert.Equal(80, web.PortMappings![0].HostPort);
        Assert.Equal("tcp", web.PortMappings[0].EffectiveProtocol);
        Assert.Equal("awslogs", web.LogConfiguration!.LogDriver);
        Assert.Equal("web", web.LogConfiguration.Options!["awslogs-group"]);
        Assert.Equal(99, TaskResources.ReservedCpu(d));
        Assert.Equal(100, TaskResources.ReservedMemory(d));
    }

    [Fact]
    public void Parse_Fargate_UnderstandsVcpuAndGb()
    {
        var d = TaskDefinitionJson.Parse(Fargate);

        Assert.Equal(1024, TaskResources.ReservedCpu(d));
        Assert.Equal(2048, TaskResources.ReservedMemory(d));
        Assert.False(d.ContainerDefinitions![1].IsEssential);
        Assert.Equal("SUCCESS", d.ContainerDefinitions[0].DependsOn![0].Condition);
        Assert.Equal(30, d.ContainerDefinitions[0].HealthCheck!.StartPeriod);
    }

    [Fact]
    public void Serialize_KeepsUnknownFieldsAtEveryLevel()
    {
        var d = TaskDefinitionJson.Parse(Fargate);

        var json = TaskDefinitionJson.Serialize(d);
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;

        Assert.Equal("arn:aws:iam::123456789012:role/ecsTaskExecutionRole", root.GetProperty("executionRoleArn").GetString());
        Assert.Equal("ARM64", root.GetProperty("runtimePlatform").GetProperty("cpuArchitecture").GetString());
        var app = root.GetProperty("containerDefinitions")[0];
        Assert.Equal(65536, app.GetProperty("ulimits")[0].GetProperty("softLimit").GetInt32());
        Assert.Equal("http", app.GetProperty("portMappings")[0].GetProperty("appProtocol").GetString());
        Assert.Equal("1 vCPU", root.GetProperty("cpu").GetString());
    }

    [Fact]
    public void Serialize_ThenParse_RoundTripsToTheSameDocument()
    {
        var once = TaskDefinitionJson.Serialize(TaskDefinitionJson.Parse(WordPress));
        var twice = TaskDefinitionJson.Serialize(TaskDefinitionJson.Parse(once));

        Assert.Equal(once, twice);
        Assert.Contains("\"links\":[\"mysql\"]", once, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DescribeOutput_UnwrapsAndDropsReadOnlyFields()
    {
        var described = """
            {"taskDefinition": {"family": "x", "revision": 7, "status": "ACTIVE", "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/x:7",
             "registeredAt": "2024-01-01T00:00:00Z", "compatibilities": ["EC2"],
             "containerDefinitions": [{"name": "a", "image": "busybox", "memory": 32}]}}
            """;

        var d = TaskDefinitionJson.Parse(described);
        var json = TaskDefinitionJson.Serialize(d);

        Assert.Equal("x", d.Family);
        Assert.DoesNotContain("revision", json, StringComparison.Ordinal);
        Assert.DoesNotContain("taskDefinitionArn", json, StringComparison.Ordinal);
    }

    [Fact]
    public void SerializeDescribed_AddsAssignedFields()
    {
        var d = TaskDefinitionJson.Parse(WebServer);

        var json = TaskDefinitionJson.SerializeDescribed(d, 3, "arn:berth:ecs:local:task-definition/webserver:3", "ACTIVE", DateTimeOffset.UnixEpoch, null);
        using var doc = JsonDocument.Parse(json);

        Assert.Equal(3, doc.RootElement.GetProperty("revision").GetInt32());
        Assert.Equal("ACTIVE", doc.RootElement.GetProperty("status").GetString());
        Assert.Equal("webserver", doc.RootElement.GetProperty("family").GetString());
    }

    [Theory]
    [InlineData("""{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":64},{"name":"b","image":"i","memory":64,"portMappings":[{"containerPort":70000}]}]}""",
        "containerDefinitions[1].portMappings[0].containerPort: must be 1-65535")]
    [InlineData("""{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":64,"portMappings":[{"containerPort":80,"protocol":"sctp"}]}]}""",
        "containerDefinitions[0].portMappings[0].protocol: must be tcp or udp")]
    [InlineData("""{"containerDefinitions":[{"name":"a","image":"i","memory":64}]}""", "family: is required")]
    [InlineData("""{"family":"bad name","containerDefinitions":[{"name":"a","image":"i","memory":64}]}""", "family: must be 1-255 letters, digits, hyphens and underscores")]
    [InlineData("""{"family":"f","containerDefinitions":[]}""", "containerDefinitions: at least one container is required")]
    [InlineData("""{"family":"f","containerDefinitions":[{"name":"a","memory":64}]}""", "containerDefinitions[0].image: is required")]
    [InlineData("""{"family":"f","containerDefinitions":[{"name":"a","image":"i"}]}""", "containerDefinitions[0].memory: memory or memoryReservation is required when the task has no task-level memory")]
    [InlineData("""{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":64,"memoryReservation":128}]}""", "containerDefinitions[0].memoryReservation: must not exceed memory")]
    [InlineData("""{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":64},{"name":"a","image":"i","memory":64}]}""", "containerDefinitions[1].name: duplicate container name 'a'")]
    [InlineData("""{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":64,"essential":false}]}""", "containerDefinitions: at least one container must be essential")]
    [InlineData("""{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":64,"dependsOn":[{"containerName":"zz","condition":"START"}]}]}""", "containerDefinitions[0].dependsOn[0].containerName: must name another container of the task")]
    [InlineData("""{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":64},{"name":"b","image":"i","memory":64,"dependsOn":[{"containerName":"a","condition":"RUNNING"}]}]}""", "containerDefinitions[1].dependsOn[0].condition: must be START, COMPLETE, SUCCESS or HEALTHY")]
    [InlineData("""{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":64,"healthCheck":{"command":["curl"]}}]}""", "containerDefinitions[0].healthCheck.command: must start with CMD, CMD-SHELL or NONE")]
    [InlineData("""{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":64,"stopTimeout":600}]}""", "containerDefinitions[0].stopTimeout: must be 0-120 seconds")]
    [InlineData("""{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":64,"mountPoints":[{"sourceVolume":"data","containerPath":"/d"}]}]}""", "containerDefinitions[0].mountPoints[0].sourceVolume: must name a volume of the task")]
    [InlineData("""{"family":"f","cpu":"lots","containerDefinitions":[{"name":"a","image":"i","memory":64}]}""", "cpu: must be cpu units (\"256\") or vCPUs (\"1 vCPU\"), at least 1 unit")]
    [InlineData("""{"family":"f","networkMode":"overlay","containerDefinitions":[{"name":"a","image":"i","memory":64}]}""", "networkMode: must be bridge, host, awsvpc or none")]
    [InlineData("""{"family":"f","requiresCompatibilities":["FARGATE"],"containerDefinitions":[{"name":"a","image":"i","memory":64}]}""", "networkMode: must be awsvpc when requiresCompatibilities includes FARGATE")]
    [InlineData("""{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":64,"portMappings":[{"containerPort":80,"hostPort":8080}]},{"name":"b","image":"i","memory":64,"portMappings":[{"containerPort":81,"hostPort":8080}]}]}""", "containerDefinitions[1].portMappings[0].hostPort: host port 8080/tcp is already used by containerDefinitions[0].portMappings[0]")]
    [InlineData("""{"family":"f","networkMode":"host","containerDefinitions":[{"name":"a","image":"i","memory":64,"portMappings":[{"containerPort":80,"hostPort":81}]}]}""", "containerDefinitions[0].portMappings[0].hostPort: must equal containerPort in host network mode")]
    [InlineData("""{"family":"f","placementConstraints":[{"type":"distinctInstance"}],"containerDefinitions":[{"name":"a","image":"i","memory":64}]}""", "placementConstraints[0].type: must be memberOf")]
    public void Parse_InvalidField_ErrorNamesTheField(string json, string expected)
    {
        var e = Assert.Throws<TaskDefinitionException>(() => TaskDefinitionJson.Parse(json));

        Assert.Contains(expected, e.Errors.Select(x => x.ToString()));
    }

    [Theory]
    [InlineData("""{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":"lots"}]}""", "containerDefinitions[0].memory: must be an integer")]
    [InlineData("""{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":64,"essential":"yes"}]}""", "containerDefinitions[0].essential: must be true or false")]
    [InlineData("""{"family":"f","containerDefinitions":{"name":"a"}}""", "containerDefinitions: must be an array")]
    public void Parse_WrongJsonType_ErrorNamesTheField(string json, string expected)
    {
        var e = Assert.Throws<TaskDefinitionException>(() => TaskDefinitionJson.Parse(json));

        Assert.Equal(expected, Assert.Single(e.Errors).ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"family\": ")]
    [InlineData("[1,2]")]
    public void Parse_MalformedDocument_Throws(string json)
    {
        var e = Assert.Throws<TaskDefinitionException>(() => TaskDefinitionJson.Parse(json));

        Assert.Equal("$", Assert.Single(e.Errors).Field);
    }

    [Fact]
    public void Parse_SyntaxError_NamesOnePosition_CountedFromOneAsEditorsDo()
    {
        // Line 3 has the stray comma's successor: `}` where a value should be.
        var json = "{\n  \"family\": \"web\",\n  \"memory\": ,\n}";

        var message = Assert.Throws<TaskDefinitionException>(() => TaskDefinitionJson.Parse(json)).Message;

        Assert.Matches(@"^\$: malformed JSON: .+ \(line 3, column \d+\)$", message);
        Assert.DoesNotContain("LineNumber", message, StringComparison.Ordinal);
        Assert.DoesNotContain("BytePosition", message, StringComparison.Ordinal);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(message, "line"));
    }

    [Fact]
    public void Parse_ReportsEveryErrorNotJustTheFirst()
    {
        var json = """{"family":"f","containerDefinitions":[{"name":"a","memory":2,"portMappings":[{"containerPort":0}]}]}""";

        var e = Assert.Throws<TaskDefinitionException>(() => TaskDefinitionJson.Parse(json));

        Assert.Equal(3, e.Errors.Count);
    }

    [Fact]
    public void ReservedMemory_UsesHardLimitElseReservation()
    {
        var d = TaskDefinitionJson.Parse("""{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":256,"memoryReservation":128},{"name":"b","image":"i","memoryReservation":64}]}""");

        Assert.Equal(256 + 64, TaskResources.ReservedMemory(d));
        Assert.Equal(0, TaskResources.ReservedCpu(d));
    }

    [Fact]
    public void Parse_TaskLevelSizesAsNumbers_AreAccepted()
    {
        var d = TaskDefinitionJson.Parse("""{"family":"f","cpu":512,"memory":1024,"containerDefinitions":[{"name":"a","image":"i"}]}""");

        Assert.Equal(512, TaskResources.ReservedCpu(d));
        Assert.Equal(1024, TaskResources.ReservedMemory(d));
    }
}

public class TaskResourcesTests
{
    [Theory]
    [InlineData("256", 256)]
    [InlineData("1 vCPU", 1024)]
    [InlineData("0.25 vcpu", 256)]
    [InlineData("2vCPU", 2048)]
    [InlineData(" 4096 ", 4096)]
    public void TryParseCpu_EcsForms(string text, int expected)
    {
        Assert.True(TaskResources.TryParseCpu(text, out var units));
        Assert.Equal(expected, units);
    }

    [Theory]
    [InlineData("512", 512)]
    [InlineData("1 GB", 1024)]
    [InlineData("0.5GB", 512)]
    [InlineData("30 gb", 30720)]
    public void TryParseMemory_EcsForms(string text, int expected)
    {
        Assert.True(TaskResources.TryParseMemory(text, out var mib));
        Assert.Equal(expected, mib);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("0")]
    [InlineData("1.5")]
    [InlineData("x vCPU")]
    public void TryParseCpu_Garbage_IsRejected(string text) => Assert.False(TaskResources.TryParseCpu(text, out _));

    [Theory]
    [InlineData("3")]
    [InlineData("GB")]
    [InlineData("-2 GB")]
    public void TryParseMemory_Garbage_IsRejected(string text) => Assert.False(TaskResources.TryParseMemory(text, out _));
}
