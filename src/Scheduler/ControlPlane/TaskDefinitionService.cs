using Berth.Scheduler.State;
using Berth.Scheduler.V1;
using Grpc.Core;

namespace Berth.Scheduler.ControlPlane;

/// <summary>The TaskDefinitions API.</summary>
internal sealed class TaskDefinitionService(SchedulerState state) : TaskDefinitions.TaskDefinitionsBase
{
    // ECS caps a registered task definition at 64 KiB of JSON.
    private const int MaxDocumentLength = 64 * 1024;

    public override async Task<RegisterTaskDefinitionResponse> RegisterTaskDefinition(RegisterTaskDefinitionRequest request, ServerCallContext context)
    {
        if (request.TaskDefinitionJson.Length > MaxDocumentLength)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"task_definition_json: at most {MaxDocumentLength} characters."));
        }

        return new RegisterTaskDefinitionResponse { TaskDefinition = await state.RegisterTaskDefinitionAsync(request.TaskDefinitionJson) };
    }

    public override Task<DescribeTaskDefinitionResponse> DescribeTaskDefinition(DescribeTaskDefinitionRequest request, ServerCallContext context)
    {
        RequireReference(request.TaskDefinition);
        return Task.FromResult(new DescribeTaskDefinitionResponse { TaskDefinition = state.DescribeTaskDefinition(request.TaskDefinition) });
    }

    public override Task<ListTaskDefinitionsResponse> ListTaskDefinitions(ListTaskDefinitionsRequest request, ServerCallContext context)
    {
        var (arns, next) = state.ListTaskDefinitions(request.FamilyPrefix, request.Status, request.Descending, request.MaxResults, request.NextToken);
        var response = new ListTaskDefinitionsResponse { NextToken = next };
        response.TaskDefinitionArns.AddRange(arns);
        return Task.FromResult(response);
    }

    public override Task<ListTaskDefinitionFamiliesResponse> ListTaskDefinitionFamilies(ListTaskDefinitionFamiliesRequest request, ServerCallContext context)
    {
        var (families, next) = state.ListTaskDefinitionFamilies(request.FamilyPrefix, request.Status, request.MaxResults, request.NextToken);
        var response = new ListTaskDefinitionFamiliesResponse { NextToken = next };
        response.Families.AddRange(families);
        return Task.FromResult(response);
    }

    public override async Task<DeregisterTaskDefinitionResponse> DeregisterTaskDefinition(DeregisterTaskDefinitionRequest request, ServerCallContext context)
    {
        RequireReference(request.TaskDefinition);
        return new DeregisterTaskDefinitionResponse { TaskDefinition = await state.DeregisterTaskDefinitionAsync(request.TaskDefinition) };
    }

    private static void RequireReference(string reference)
    {
        if (string.IsNullOrEmpty(reference))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "task_definition is required."));
        }
    }
}
