using Berth.Scheduler.Kernel;
using Berth.Scheduler.TaskDefinitions;
using Berth.Scheduler.V1;
using Grpc.Core;

namespace Berth.Scheduler.ControlPlane;

/// <summary>The TaskDefinitions API.</summary>
internal sealed class TaskDefinitionService(TaskDefinitionHandler definitions) : V1.TaskDefinitions.TaskDefinitionsBase
{
    // ECS caps a registered task definition at 64 KiB of JSON.
    private const int MaxDocumentLength = 64 * 1024;

    public override async Task<RegisterTaskDefinitionResponse> RegisterTaskDefinition(RegisterTaskDefinitionRequest request, ServerCallContext context)
    {
        if (request.TaskDefinitionJson.Length > MaxDocumentLength)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"task_definition_json: at most {MaxDocumentLength} characters."));
        }

        return new RegisterTaskDefinitionResponse { TaskDefinition = ToWire(await definitions.RegisterAsync(request.TaskDefinitionJson)) };
    }

    public override Task<DescribeTaskDefinitionResponse> DescribeTaskDefinition(DescribeTaskDefinitionRequest request, ServerCallContext context)
    {
        RequireReference(request.TaskDefinition);
        return Task.FromResult(new DescribeTaskDefinitionResponse { TaskDefinition = ToWire(definitions.Describe(request.TaskDefinition)) });
    }

    public override Task<ListTaskDefinitionsResponse> ListTaskDefinitions(ListTaskDefinitionsRequest request, ServerCallContext context)
    {
        var (arns, next) = definitions.List(request.FamilyPrefix, request.Status, request.Descending, request.MaxResults, request.NextToken);
        var response = new ListTaskDefinitionsResponse { NextToken = next };
        response.TaskDefinitionArns.AddRange(arns);
        return Task.FromResult(response);
    }

    public override Task<ListTaskDefinitionFamiliesResponse> ListTaskDefinitionFamilies(ListTaskDefinitionFamiliesRequest request, ServerCallContext context)
    {
        var (families, next) = definitions.ListFamilies(request.FamilyPrefix, request.Status, request.MaxResults, request.NextToken);
        var response = new ListTaskDefinitionFamiliesResponse { NextToken = next };
        response.Families.AddRange(families);
        return Task.FromResult(response);
    }

    public override async Task<DeregisterTaskDefinitionResponse> DeregisterTaskDefinition(DeregisterTaskDefinitionRequest request, ServerCallContext context)
    {
        RequireReference(request.TaskDefinition);
        return new DeregisterTaskDefinitionResponse { TaskDefinition = ToWire(await definitions.DeregisterAsync(request.TaskDefinition)) };
    }

    private static void RequireReference(string reference)
    {
        if (string.IsNullOrEmpty(reference))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "task_definition is required."));
        }
    }

    private static TaskDefinition ToWire(TaskDefinitionRecord d) => new()
    {
        Family = d.Family,
        Revision = d.Revision,
        Arn = d.Arn,
        Status = d.Status,
        TaskDefinitionJson = d.DescribedJson,
        RegisteredAt = WireConvert.ToWire(d.RegisteredAt),
        DeregisteredAt = WireConvert.ToWire(d.DeregisteredAt),
        Cpu = d.Requirements.Cpu,
        Memory = d.Requirements.Memory,
    };
}
