using Berth.Scheduler.RegistryAccess;
using Berth.Scheduler.V1;

namespace Berth.Scheduler.Sessions;

internal sealed partial class AgentSession
{
    /// <summary>
    /// Writes a desired state. Its bytes are already encoded (<see cref="DesiredStateFrame"/>), so they go to the
    /// response body as one gRPC frame instead of through the stream writer, which would re-encode every task of the
    /// set. Only this session's single writer loop writes to the stream, so frames never interleave; the writer's own
    /// first write (SessionAccepted) has sent the response headers. Without an HTTP response (or before the headers),
    /// the message goes through the stream writer. So does a set whose tasks may get registry credentials: those are
    /// added to the message's entries (<see cref="TaskRegistryCredentials"/>), not kept in the cached bytes.
    /// </summary>
    private async Task WriteDesiredAsync(DesiredStateFrame desired, CancellationToken token)
    {
        if (response is null || !response.HasStarted || credentials.MayAttach(desired.Definitions))
        {
            var message = await credentials.AttachAsync(desired.ToMessage(), token);
            await writer.WriteAsync(new SchedulerMessage { DesiredState = message }, token);
            return;
        }

        desired.WriteGrpcFrame(response.BodyWriter);
        var flushed = await response.BodyWriter.FlushAsync(token);
        if (flushed.IsCanceled || flushed.IsCompleted)
        {
            throw new OperationCanceledException("The session's response stream is closed.");
        }
    }
}
