using System.Runtime.CompilerServices;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Berth.Agent.Runtime;

/// <summary>
/// An exec through the Engine API: create (<c>POST /containers/{id}/exec</c>), start attached (<c>POST
/// /exec/{id}/start</c>, the connection hijacked into a raw stream: multiplexed stdout/stderr frames without a TTY,
/// the terminal's bytes with one), resize (<c>POST /exec/{id}/resize</c>) and inspect for the exit code.
/// </summary>
internal sealed class DockerExecSession : IExecSession
{
    private readonly DockerClient _client;
    private readonly MultiplexedStream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private bool _inputClosed;

    private DockerExecSession(DockerClient client, string id, MultiplexedStream stream)
    {
        _client = client;
        Id = id;
        _stream = stream;
    }

    public string Id { get; }

    public static async Task<IExecSession> StartAsync(DockerClient client, string containerId, ExecSpec spec, CancellationToken cancellationToken)
    {
        var created = await client.Exec.CreateContainerExecAsync(containerId, new ContainerExecCreateParameters
        {
            AttachStdin = spec.Stdin,
            AttachStdout = true,
            AttachStderr = true,
            TTY = spec.Tty,
            Cmd = [.. spec.Command],
            Env = [.. spec.Environment],
            User = spec.User ?? string.Empty,
            WorkingDir = spec.WorkingDirectory ?? string.Empty,
        }, cancellationToken);
        var stream = await client.Exec.StartContainerExecAsync(created.ID, new ContainerExecStartParameters { Detach = false, TTY = spec.Tty }, cancellationToken);
        return new DockerExecSession(client, created.ID, stream);
    }

    public async IAsyncEnumerable<ExecOutput> ReadOutputAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            // A fresh buffer per chunk: the caller may hold on to it (it goes into a protobuf message).
            var buffer = new byte[16 * 1024];
            MultiplexedStream.ReadResult read;
            try
            {
                read = await _stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                yield break;
            }
            catch (IOException)
            {
                // The engine closed the hijacked connection (container stopped): the end of the output.
                yield break;
            }

            if (read.EOF)
            {
                yield break;
            }

            yield return new ExecOutput(read.Target == MultiplexedStream.TargetStream.StandardError, buffer.AsMemory(0, read.Count));
        }
    }

    public async Task WriteInputAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            if (!_inputClosed)
            {
                var bytes = data.ToArray();
                await _stream.WriteAsync(bytes, 0, bytes.Length, cancellationToken);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task CloseInputAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            if (!_inputClosed)
            {
                _inputClosed = true;
                // Half-close: the command reads end-of-file while its output keeps flowing back.
                _stream.CloseWrite();
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task ResizeAsync(int rows, int columns, CancellationToken cancellationToken)
    {
        try
        {
            await _client.Exec.ResizeExecTtyAsync(Id, new ContainerResizeParameters { Height = rows, Width = columns }, cancellationToken);
        }
        catch (DockerApiException ex)
        {
            throw new ContainerRuntimeException(ex.ResponseBody ?? ex.Message, (int)ex.StatusCode, ex);
        }
    }

    public async Task<int?> GetExitCodeAsync(CancellationToken cancellationToken)
    {
        try
        {
            var inspect = await _client.Exec.InspectContainerExecAsync(Id, cancellationToken);
            return inspect.Running || inspect.ExitCode is not { } code ? null : (int)code;
        }
        catch (DockerApiException ex)
        {
            throw new ContainerRuntimeException(ex.ResponseBody ?? ex.Message, (int)ex.StatusCode, ex);
        }
    }

    public ValueTask DisposeAsync()
    {
        _stream.Dispose();
        _writeLock.Dispose();
        return ValueTask.CompletedTask;
    }
}
