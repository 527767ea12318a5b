using Berth.Scheduler.State;
using Berth.Scheduler.V1;
using Grpc.Core;

namespace Berth.Scheduler.ControlPlane;

/// <summary>The Services API (ECS CreateService, UpdateService, DeleteService, DescribeServices, ListServices).</summary>
internal sealed class ServiceService(SchedulerState state) : V1.Services.ServicesBase
{
    public override async Task<CreateServiceResponse> CreateService(CreateServiceRequest request, ServerCallContext context) =>
        new() { Service = await state.CreateServiceAsync(request) };

    public override async Task<UpdateServiceResponse> UpdateService(UpdateServiceRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.Service))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "service is required."));
        }

        return new UpdateServiceResponse { Service = await state.UpdateServiceAsync(request) };
    }

    public override async Task<DeleteServiceResponse> DeleteService(DeleteServiceRequest request, ServerCallContext context) =>
        new() { Service = await state.DeleteServiceAsync(request.Cluster, request.Service, request.Force) };

    public override Task<DescribeServicesResponse> DescribeServices(DescribeServicesRequest request, ServerCallContext context)
    {
        var (found, failures) = state.DescribeServices(request.Cluster, request.Services);
        var response = new DescribeServicesResponse();
        response.Services.AddRange(found);
        response.Failures.AddRange(failures);
        return Task.FromResult(response);
    }

    public override Task<ListServicesResponse> ListServices(ListServicesRequest request, ServerCallContext context)
    {
        var (arns, next) = state.ListServices(request);
        var response = new ListServicesResponse { NextToken = next };
        response.ServiceArns.AddRange(arns);
        return Task.FromResult(response);
    }
}
