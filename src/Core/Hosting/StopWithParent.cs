using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Berth.Core.Hosting;

/// <summary>
/// Stops the host when the process that started it is gone, however it went (SIGKILL included). <c>berth up</c> runs
/// the registry, the scheduler and the agent as children whose standard input is a pipe from it, and sets
/// <see cref="Variable"/>: when the parent exits, the kernel closes the pipe's other end and a read of standard input
/// returns end-of-file. No PID to poll, none to be reused.
/// </summary>
/// <remarks>
/// Off unless the variable is set: under systemd or in a container standard input is /dev/null, which is at its end
/// from the start.
/// </remarks>
public sealed partial class StopWithParent(IHostApplicationLifetime lifetime, ILogger<StopWithParent> logger) : IHostedService
{
    /// <summary>Set to <c>1</c> by a parent that holds the child's standard input open for as long as it lives.</summary>
    public const string Variable = "BERTH_STOP_WITH_PARENT";

    /// <summary>Whether this process was started by a parent that set <see cref="Variable"/> to <c>1</c>.</summary>
    public static bool Requested => Environment.GetEnvironmentVariable(Variable) == "1";

    /// <summary>Starts the background thread that waits for the end of standard input; returns at once.</summary>
    /// <param name="cancellationToken">Unused: starting never blocks.</param>
    /// <returns>A completed task.</returns>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // A thread of its own, blocked in read(2) for the life of the process: a pipe read cannot be cancelled, and
        // the host's shutdown must not wait for it.
        var watcher = new Thread(WaitForEndOfInput) { IsBackground = true, Name = "berth-stop-with-parent" };
        watcher.Start();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Nothing to stop: the watcher thread is a background thread blocked in a read that cannot be cancelled, and it
    /// ends with the process.
    /// </summary>
    /// <param name="cancellationToken">Unused.</param>
    /// <returns>A completed task.</returns>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void WaitForEndOfInput()
    {
        try
        {
            using var input = Console.OpenStandardInput();
            var buffer = new byte[256];
            // The parent writes nothing; whatever arrives is read and ignored until the end.
            while (input.Read(buffer, 0, buffer.Length) > 0)
            {
            }
        }
        catch (IOException)
        {
            // A broken pipe is the same news.
        }

        LogParentGone(logger, Variable);
        lifetime.StopApplication();
    }

    [LoggerMessage(EventId = 9000, Level = LogLevel.Warning, Message = "The process that started this one is gone (standard input closed, {Variable}=1): stopping")]
    private static partial void LogParentGone(ILogger logger, string variable);
}

/// <summary>Registers <see cref="StopWithParent"/> in a host's service collection.</summary>
public static class StopWithParentExtensions
{
    /// <summary>Adds <see cref="StopWithParent"/> when the parent asked for it with <see cref="StopWithParent.Variable"/>.</summary>
    /// <param name="services">The host's services.</param>
    /// <returns>The same <paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddStopWithParent(this IServiceCollection services)
    {
        if (StopWithParent.Requested)
        {
            services.AddHostedService<StopWithParent>();
        }

        return services;
    }
}
