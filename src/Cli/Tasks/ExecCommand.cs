using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text;
using Berth.Cli.Common;
using Berth.Scheduler.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Berth.Cli.Tasks;

/// <summary>
/// <c>berth task exec TASK [--container NAME] [-i] [-t|-T] -- COMMAND [ARG...]</c>: runs a command in a task's container
/// through the scheduler and the task's agent (ECS ExecuteCommand, <c>docker exec</c>). With a TTY the local terminal is
/// put in raw mode, keys go through as typed, window size changes (SIGWINCH) are passed on, and the remote terminal's
/// bytes come back as they are; without one stdout and stderr stay apart and stdin is passed on until it ends. The
/// exit code is the command's.
/// </summary>
internal static class ExecCommand
{
    public static Command Build(CommandActions actions)
    {
        var task = new Argument<string>("TASK") { Description = "The task id or ARN" };
        var argv = new Argument<string[]>("COMMAND") { Description = "The command and its arguments, after --", Arity = ArgumentArity.OneOrMore };
        var container = new Option<string?>("--container") { Description = "The container name (needed when the task has several)" };
        var interactive = new Option<bool?>("--interactive", "-i") { Description = "Pass standard input on [default: when it is a pipe or a file, or with a TTY]" };
        var tty = new Option<bool>("--tty", "-t") { Description = "Allocate a terminal even when this one is not interactive" };
        var noTty = new Option<bool>("--no-tty", "-T") { Description = "Never allocate a terminal (scripts; the default when stdin or stdout is not a terminal)" };
        var env = new Option<string[]>("--env", "-e") { Description = "NAME=value for the command's environment (repeatable)", HelpName = "NAME=value" };
        var user = new Option<string?>("--user", "-u") { Description = "Run as this user (name, uid, or user:group)" };
        var workdir = new Option<string?>("--workdir", "-w") { Description = "Run in this directory" };
        var command = new Command("exec", "Run a command in a running task's container (needs a task started with --enable-execute-command)")
        {
            task, container, interactive, tty, noTty, env, user, workdir, argv,
        };
        actions.Set(command, async (parse, context, ct) =>
        {
            var terminal = !Console.IsInputRedirected && !Console.IsOutputRedirected;
            var useTty = parse.GetValue(tty) || (terminal && !parse.GetValue(noTty));
            if (parse.GetValue(tty) && parse.GetValue(noTty))
            {
                throw new CliException("--tty and --no-tty exclude each other.", ExitCodes.Usage);
            }

            var start = new ExecStart
            {
                Cluster = context.Cluster,
                Task = parse.GetValue(task)!,
                Container = parse.GetValue(container) ?? string.Empty,
                Tty = useTty,
                Stdin = parse.GetValue(interactive) ?? (useTty || Console.IsInputRedirected),
                User = parse.GetValue(user) ?? string.Empty,
                WorkingDirectory = parse.GetValue(workdir) ?? string.Empty,
            };
            start.Command.AddRange(parse.GetValue(argv)!);
            start.Env.AddRange(parse.GetValue(env) ?? []);
            if (useTty && TerminalSize() is { } size)
            {
                start.TerminalSize = size;
            }

            var session = new ExecSession(context.Scheduler.Tasks.ExecuteCommand(cancellationToken: ct), context.Output);
            return await session.RunAsync(start, ct);
        });
        return command;
    }

    /// <summary>The local terminal's size, when there is a terminal.</summary>
    internal static TerminalSize? TerminalSize()
    {
        try
        {
            return Console.WindowHeight > 0 && Console.WindowWidth > 0 ? new TerminalSize { Rows = (uint)Console.WindowHeight, Columns = (uint)Console.WindowWidth } : null;
        }
        catch (Exception ex) when (ex is IOException or PlatformNotSupportedException)
        {
            return null;
        }
    }

    /// <summary>One exec call: input, resizes and output pumps, the raw terminal, and the exit code.</summary>
    private sealed class ExecSession(AsyncDuplexStreamingCall<ExecClientFrame, ExecServerFrame> call, CliOutput output) : IDisposable
    {
        private readonly SemaphoreSlim _send = new(1, 1);
        private readonly Decoder _stdoutText = Encoding.UTF8.GetDecoder();
        private readonly Decoder _stderrText = Encoding.UTF8.GetDecoder();

        // Bytes go straight to the real console (a terminal's escape sequences, binary output); tests that capture
        // the output in writers get it decoded as UTF-8.
        private readonly Stream? _stdout = ReferenceEquals(output.Out, Console.Out) ? Console.OpenStandardOutput() : null;
        private readonly Stream? _stderr = ReferenceEquals(output.Error, Console.Error) ? Console.OpenStandardError() : null;

        public async Task<int> RunAsync(ExecStart start, CancellationToken ct)
        {
            using (this)
            using (call)
            {
                await SendStartAsync(start, ct);
                using var raw = start.Tty ? Posix.EnterRawMode() : null;
                using var resize = start.Tty && !OperatingSystem.IsWindows()
                    ? PosixSignalRegistration.Create(PosixSignal.SIGWINCH, signal => _ = ResizeAsync(ct))
                    : null;
                if (start.Stdin)
                {
                    // Not awaited: a read of the terminal cannot be cancelled, and the call ends with the command anyway.
                    _ = Task.Run(() => PumpInputAsync(ct), CancellationToken.None);
                }

                await foreach (var frame in call.ResponseStream.ReadAllAsync(ct))
                {
                    switch (frame.BodyCase)
                    {
                        case ExecServerFrame.BodyOneofCase.Stdout:
                            Write(_stdout, output.Out, _stdoutText, frame.Stdout.Span);
                            break;
                        case ExecServerFrame.BodyOneofCase.Stderr:
                            Write(_stderr, output.Error, _stderrText, frame.Stderr.Span);
                            break;
                        case ExecServerFrame.BodyOneofCase.Exited:
                            return frame.Exited.ExitCode;
                        case ExecServerFrame.BodyOneofCase.Error:
                            raw?.Dispose();
                            throw new RpcException(new Status(StatusOf(frame.Error.Code), frame.Error.Message));
                    }
                }

                throw new CliException("the exec ended without the command's exit code (the scheduler or the agent went away).");
            }
        }

        public void Dispose()
        {
            _send.Dispose();
            _stdout?.Dispose();
            _stderr?.Dispose();
        }

        /// <summary>
        /// Sends the start. The scheduler refuses some calls before it reads it (a bad credential) and resets the
        /// stream; the write can lose that race and fail as Cancelled while the refusal is still arriving, so on a
        /// failed write the user is shown the scheduler's answer, not the write's.
        /// </summary>
        private async Task SendStartAsync(ExecStart start, CancellationToken ct)
        {
            try
            {
                await SendAsync(new ExecClientFrame { Start = start }, ct);
            }
            catch (RpcException) when (!ct.IsCancellationRequested)
            {
                await call.ResponseStream.MoveNext(ct);
                throw;
            }
        }

        private async Task PumpInputAsync(CancellationToken ct)
        {
            try
            {
                using var stdin = Console.OpenStandardInput();
                var buffer = new byte[16 * 1024];
                int read;
                while ((read = await stdin.ReadAsync(buffer, ct)) > 0)
                {
                    await SendAsync(new ExecClientFrame { Stdin = ByteString.CopyFrom(buffer, 0, read) }, ct);
                }

                await SendAsync(new ExecClientFrame { StdinClosed = true }, ct);
            }
            catch (Exception ex) when (ex is OperationCanceledException or RpcException or IOException or InvalidOperationException or ObjectDisposedException)
            {
                // The command ended (the call is complete) or was interrupted: nothing more to send.
            }
        }

        private async Task ResizeAsync(CancellationToken ct)
        {
            if (TerminalSize() is not { } size)
            {
                return;
            }

            try
            {
                await SendAsync(new ExecClientFrame { Resize = size }, ct);
            }
            catch (Exception ex) when (ex is OperationCanceledException or RpcException or InvalidOperationException or ObjectDisposedException)
            {
                // A resize racing the end of the call.
            }
        }

        private async Task SendAsync(ExecClientFrame frame, CancellationToken ct)
        {
            await _send.WaitAsync(ct);
            try
            {
                await call.RequestStream.WriteAsync(frame, ct);
            }
            finally
            {
                _send.Release();
            }
        }

        private static void Write(Stream? raw, TextWriter writer, Decoder decoder, ReadOnlySpan<byte> bytes)
        {
            if (raw is not null)
            {
                raw.Write(bytes);
                raw.Flush();
                return;
            }

            var chars = new char[decoder.GetCharCount(bytes, flush: false)];
            decoder.GetChars(bytes, chars, flush: false);
            writer.Write(chars);
            writer.Flush();
        }

        private static StatusCode StatusOf(ExecError.Types.Code code) => code switch
        {
            ExecError.Types.Code.InvalidArgument => StatusCode.InvalidArgument,
            ExecError.Types.Code.NotFound => StatusCode.NotFound,
            ExecError.Types.Code.FailedPrecondition => StatusCode.FailedPrecondition,
            _ => StatusCode.Unavailable,
        };
    }
}
