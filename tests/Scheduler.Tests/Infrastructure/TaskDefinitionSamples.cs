namespace Berth.Scheduler.Tests.Infrastructure;

internal static class TaskDefinitionSamples
{
    /// <summary>A web server with a dynamic host port, 256 cpu units and 512 MiB, plus an unknown field.</summary>
    public static string Web(string family = "web", int memory = 512, int cpu = 256, int hostPort = 0) => $$"""
        {
          "family": "{{family}}",
          "networkMode": "bridge",
          "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
          "containerDefinitions": [
            {
              "name": "web",
              "image": "registry.local/web:1",
              "cpu": {{cpu}},
              "memory": {{memory}},
              "essential": true,
              "portMappings": [ { "containerPort": 80, "hostPort": {{hostPort}}, "protocol": "tcp" } ],
              "environment": [ { "name": "MODE", "value": "prod" } ],
              "ulimits": [ { "name": "nofile", "softLimit": 1024, "hardLimit": 2048 } ]
            }
          ]
        }
        """;
}
