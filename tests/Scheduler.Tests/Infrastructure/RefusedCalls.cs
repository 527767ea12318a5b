using System.Collections.Concurrent;
using Berth.TestSupport;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Berth.Scheduler.Tests.Infrastructure;

/// <summary>
/// The statuses the scheduler's handlers ended streaming calls with. A refusal of a duplex call whose request side is
/// still open reaches the client either as that status or, when Kestrel's reset of the open request stream wins the
/// race with the trailers, as CANCELLED; tests that assert the scheduler's decision read it here, where it is made.
/// </summary>
internal sealed class RefusedCalls
{
    private readonly ConcurrentQueue<(string Method, Status Status)> _refused = new();

    public void Add(string method, Status status) => _refused.Enqueue((method, status));

    /// <summary>Waits until a call of <paramref name="method"/> ended with a status whose detail contains <paramref name="detail"/>.</summary>
    public async Task<Status> WaitForAsync(string method, string detail)
    {
        Status found = default;
        await TaskTimeouts.WaitUntilAsync(() =>
        {
            foreach (var (m, status) in _refused)
            {
                if (m.EndsWith("/" + method, StringComparison.Ordinal) && status.Detail.Contains(detail, StringComparison.Ordinal))
                {
                    found = status;
                    return Task.FromResult(true);
                }
            }

            return Task.FromResult(false);
        }, TimeSpan.FromSeconds(20), $"a refused {method} call mentioning '{detail}'");
        return found;
    }
}

/// <summary>Records the RpcException a streaming handler ends with, then lets it go on unchanged.</summary>
internal sealed class RefusedCallsInterceptor(RefusedCalls refused) : Interceptor
{
    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (RpcException e)
        {
            refused.Add(context.Method, e.Status);
            throw;
        }
    }
}
