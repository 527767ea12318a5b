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

    private const string HealthCheck = """
        ,
              "healthCheck": { "command": ["CMD-SHELL", "exit 0"], "interval": 5, "timeout": 2, "retries": 3, "startPeriod": 0 }
        """;

    /// <summary>A small task with no ports: any number fit on one instance's ports.</summary>
    public static string Worker(string family = "worker", int memory = 128, int cpu = 64, string image = "registry.local/worker:1", bool healthCheck = false) => $$"""
        {
          "family": "{{family}}",
          "containerDefinitions": [
            {
              "name": "app",
              "image": "{{image}}",
              "cpu": {{cpu}},
              "memory": {{memory}},
              "essential": true{{(healthCheck ? HealthCheck : "")}}
            }
          ]
        }
        """;
}
