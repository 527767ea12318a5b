using Berth.Scheduler.Instances;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.LoadBalancing;
using Berth.Scheduler.V1;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Berth.Scheduler.Security;

/// <summary>
/// Authenticates every call and turns refused state operations into precise status codes.
/// Control-plane services need the admin API token; <c>Register</c> the join token (or a one-use host join token issued
/// for the cluster it joins, void once used); <c>Session</c> an instance
/// credential, whose instance id is handed to the service through <see cref="InstanceId"/>; the standard gRPC health
/// service (<c>grpc.health.v1.Health</c>) needs none. No credential or an
/// unknown one is UNAUTHENTICATED; a valid credential of the wrong kind is PERMISSION_DENIED.
/// </summary>
internal sealed class AuthInterceptor(ApiTokens tokens, HostJoinTokens hostTokens, StateKernel kernel, InstanceHandler instances, LoadBalancingHandler loadBalancing) : Interceptor
{
    private const string InstanceKey = "berth-instance-id";
    private const string BalancerKey = "berth-balancer-load-balancer";
    private static readonly string s_balancerPrefix = $"/{BalancerWatch.Descriptor.FullName}/";
    private static readonly string s_registerMethod = $"/{AgentService.Descriptor.FullName}/Register";
    private static readonly string s_agentPrefix = $"/{AgentService.Descriptor.FullName}/";
    private static readonly string s_healthPrefix = $"/{Grpc.Health.V1.Health.Descriptor.FullName}/";

    /// <summary>The instance the caller's credential speaks for (agent calls only).</summary>
    public static string InstanceId(ServerCallContext context) => (string)context.UserState[InstanceKey];

    /// <summary>The load balancer the caller's balancer credential is for (BalancerWatch calls only).</summary>
    public static string BalancerLoadBalancer(ServerCallContext context) => (string)context.UserState[BalancerKey];

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(context, request as RegisterRequest);
        try
        {
            return await continuation(request, context);
        }
        catch (StateException e)
        {
            throw ToRpc(e);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(context, null);
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (StateException e)
        {
            throw ToRpc(e);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(context, null);
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (StateException e)
        {
            throw ToRpc(e);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(context, null);
        try
        {
            return await continuation(requestStream, context);
        }
        catch (StateException e)
        {
            throw ToRpc(e);
        }
    }

    private async Task AuthorizeAsync(ServerCallContext context, RegisterRequest? register)
    {
        // The standard health service answers anyone, at once: probes carry no credentials, and a scheduler that is
        // still loading must say NOT_SERVING rather than keep the probe waiting.
        if (context.Method.StartsWith(s_healthPrefix, StringComparison.Ordinal))
        {
            return;
        }

        // Nothing is answered before the state is loaded: an empty state would answer wrongly.
        await kernel.WhenLoaded.WaitAsync(context.CancellationToken);
        var bearer = Bearer(context);
        if (context.Method == s_registerMethod)
        {
            var token = string.IsNullOrEmpty(register?.JoinToken) ? bearer : register.JoinToken;
            if (token is null)
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, "Register needs the join token (join_token, or authorization: Bearer <join token>)."));
            }

            if (tokens.IsJoin(token))
            {
                return;
            }

            if (HostJoinTokens.LooksLikeToken(token))
            {
                var cluster = Arns.ClusterName(register?.Cluster);
                if (hostTokens.Redeem(token, cluster, out var issuedFor) is not null)
                {
                    return;
                }

                if (issuedFor is not null)
                {
                    throw new RpcException(new Status(StatusCode.PermissionDenied, $"This one-use join token was issued for cluster '{issuedFor}', not '{cluster}'."));
                }

                throw new RpcException(new Status(StatusCode.Unauthenticated, "Register needs the join token; this one-use join token is not valid (used already, or its host was destroyed)."));
            }

            throw Refuse(token, "Register needs the join token");
        }

        if (bearer is null)
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "Missing 'authorization: Bearer <token>' metadata."));
        }

        if (context.Method.StartsWith(s_balancerPrefix, StringComparison.Ordinal))
        {
            // Balancer credentials are scoped: this service only, one load balancer; the admin token is not one.
            var lb = loadBalancing.AuthenticateCredential(bearer);
            if (lb is null)
            {
                throw Refuse(bearer, "BalancerWatch needs a balancer credential");
            }

            context.UserState[BalancerKey] = lb;
            return;
        }

        if (context.Method.StartsWith(s_agentPrefix, StringComparison.Ordinal))
        {
            var instance = instances.Authenticate(bearer);
            if (instance is null)
            {
                throw Refuse(bearer, "Agent sessions need an instance credential");
            }

            context.UserState[InstanceKey] = instance;
            return;
        }

        if (!tokens.IsAdmin(bearer))
        {
            throw Refuse(bearer, "The control-plane API needs an API token");
        }
    }

    /// <summary>A known credential of the wrong kind is PERMISSION_DENIED; anything else UNAUTHENTICATED.</summary>
    private RpcException Refuse(string token, string what)
    {
        var known = tokens.IsAdmin(token) || tokens.IsJoin(token) || hostTokens.IsValid(token) || instances.Authenticate(token) is not null || loadBalancing.AuthenticateCredential(token) is not null;
        return known
            ? new RpcException(new Status(StatusCode.PermissionDenied, $"{what}; this credential is not one."))
            : new RpcException(new Status(StatusCode.Unauthenticated, $"{what}; the credential is not valid."));
    }

    private static string? Bearer(ServerCallContext context)
    {
        var header = context.RequestHeaders.GetValue("authorization");
        if (header is null || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var token = header["Bearer ".Length..].Trim();
        return token.Length == 0 ? null : token;
    }

    public static RpcException ToRpc(StateException e) => new(new Status(e.Error switch
    {
        StateError.InvalidArgument => StatusCode.InvalidArgument,
        StateError.NotFound => StatusCode.NotFound,
        StateError.AlreadyExists => StatusCode.AlreadyExists,
        StateError.FailedPrecondition => StatusCode.FailedPrecondition,
        StateError.PermissionDenied => StatusCode.PermissionDenied,
        _ => StatusCode.Unavailable,
    }, e.Message));
}
