using Google.Protobuf;
using V1 = Berth.Scheduler.V1;

namespace Berth.LoadBalancer.State;

/// <summary>
/// Keeps <c>config.pb</c> up to date off the request and watch paths: the newest configuration wins, writes are
/// coalesced to one write a second at most (with 1,000 target groups churning, one write per change would be megabytes
/// a second, and serialising 10,000 targets is milliseconds of CPU), and the last one is flushed at shutdown. Each write
/// is atomic (temporary file, fsync, rename), so the file is always a whole configuration. A crash (kill -9, power)
/// loses at most the changes of the last second: a balancer restarted then serves a configuration up to a second old
/// until it reaches the scheduler, whose next answer is a full snapshot anyway. Fail static needs a recent
/// configuration, not the newest.
/// </summary>
internal sealed partial class ConfigCacheWriter(DataDirectory data, TimeProvider time, ILogger<ConfigCacheWriter> logger) : BackgroundService
{
    private static readonly TimeSpan s_window = TimeSpan.FromSeconds(1);
    private readonly SemaphoreSlim _signal = new(0, 1);
    private V1.ConfigSnapshot? _pending;

    /// <summary>The cached configuration, or null when there is none (or it is unreadable).</summary>
    public V1.ConfigSnapshot? Load()
    {
        try
        {
            return File.Exists(data.ConfigCache) ? V1.ConfigSnapshot.Parser.ParseFrom(File.ReadAllBytes(data.ConfigCache)) : null;
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or IOException)
        {
            LogUnreadable(logger, data.ConfigCache, ex.Message);
            return null;
        }
    }

    /// <summary>Queues <paramref name="snapshot"/> to be written (it must not be changed afterwards).</summary>
    public void Save(V1.ConfigSnapshot snapshot)
    {
        Volatile.Write(ref _pending, snapshot);
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // A write is already due; it will take the newest.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                await _signal.WaitAsync(stoppingToken);
                Flush();
                await Task.Delay(s_window, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        Flush();
    }

    /// <summary>Writes the pending configuration now, if any.</summary>
    public void Flush()
    {
        var snapshot = Interlocked.Exchange(ref _pending, null);
        if (snapshot is null)
        {
            return;
        }

        try
        {
            DataDirectory.WriteAtomically(data.ConfigCache, snapshot.ToByteArray());
        }
        catch (IOException ex)
        {
            // Only a cache: serving goes on, and the next change tries again.
            LogWriteFailed(logger, data.ConfigCache, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The configuration cache {Path} is unreadable and is ignored: {Reason}")]
    private static partial void LogUnreadable(ILogger logger, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write the configuration cache {Path}: {Reason}")]
    private static partial void LogWriteFailed(ILogger logger, string path, string reason);
}
