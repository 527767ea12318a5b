using System.Collections.Concurrent;
using Berth.Registry.Images;
using Berth.Registry.Storage;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Lifecycle;

/// <summary>A dry run of a policy on a repository (ECR's lifecycle policy preview).</summary>
internal sealed record LifecyclePreview(string Repository, string PolicyText, DateTime EvaluatedAt, IReadOnlyList<LifecycleExpiry> Expiries);

/// <summary>
/// Applies lifecycle policies: every <see cref="LifecycleOptions.Interval"/> to every repository that has one, and on
/// demand. Each repository is evaluated on a snapshot of its images (<see cref="LifecycleEvaluator"/>) with the pull
/// times noted in memory flushed first, then its expired images are deleted in batches, each batch one transaction
/// under the registry's write lock that re-checks every image (a tag moved, or an index now listing it, leaves it for the
/// next run). An expired image goes whole, with all its tags, as in ECR, so tag immutability is never bypassed: no tag
/// moves, the image and its tags are gone together. The garbage collector's triggers queue what the image referenced,
/// and the collector reclaims the bytes after its review delay.
/// </summary>
internal sealed partial class LifecyclePolicies(
    RegistryStore store,
    ILifecycleMetadata metadata,
    PullRecorder pulls,
    TimeProvider time,
    IOptions<LifecycleOptions> options,
    ILogger<LifecyclePolicies> logger) : BackgroundService
{
    public const string Scheduled = "schedule";
    public const string Manual = "manual";

    // One preview per repository, the latest (ECR keeps one too); bounded so that previews of many repositories
    // cannot grow without end.
    private const int MaxPreviews = 1000;

    private readonly SemaphoreSlim _oneRun = new(1, 1);
    private readonly ConcurrentDictionary<string, LifecyclePreview> _previews = new(StringComparer.Ordinal);

    /// <summary>Raised after every run, scheduled or manual, once it is recorded.</summary>
    public event EventHandler<LifecycleRun>? RunFinished;

    public override void Dispose()
    {
        _oneRun.Dispose();
        base.Dispose();
    }

    /// <summary>Applies the policy of <paramref name="repository"/>, or of every repository that has one.</summary>
    public async Task<LifecycleRun> RunAsync(string? repository, string trigger, CancellationToken cancellationToken)
    {
        await _oneRun.WaitAsync(cancellationToken);
        try
        {
            await FlushPullsAsync(cancellationToken);
            var started = time.GetUtcNow().UtcDateTime;
            var runId = await metadata.StartRunAsync(started, trigger, repository, cancellationToken);
            var expired = new List<ExpiredImage>();
            var evaluated = 0;
            string? error = null;
            try
            {
                IReadOnlyList<StoredLifecyclePolicy> policies = repository is null
                    ? await metadata.ListPoliciesAsync(cancellationToken)
                    : await metadata.GetPolicyAsync(repository, cancellationToken) is { } one ? [one] : [];
                foreach (var stored in policies)
                {
                    if (!LifecyclePolicyParser.TryParse(stored.Text, out var policy, out var problem))
                    {
                        LogBadPolicy(logger, stored.Repository, problem);
                        continue;
                    }

                    await ApplyAsync(stored, policy, runId, expired, cancellationToken);
                    evaluated++;
                }
            }
            catch (Exception exception) when (exception is IOException or Microsoft.Data.Sqlite.SqliteException)
            {
                // Recorded with the run; what was expired stays expired and the rest waits for the next run.
                error = exception.Message;
                LogRunFailed(logger, exception);
            }

            var finished = time.GetUtcNow().UtcDateTime;
            await metadata.FinishRunAsync(runId, finished, evaluated, expired.Count, error, options.Value.RunsKept, CancellationToken.None);
            LogRun(logger, evaluated, expired.Count);
            var run = new LifecycleRun(runId, started, finished, trigger, repository, evaluated, expired.Count, error, expired);
            RunFinished?.Invoke(this, run);
            return run;
        }
        finally
        {
            _oneRun.Release();
        }
    }

    /// <summary>Evaluates <paramref name="policy"/> on the repository now, deletes nothing, and keeps the result as its preview.</summary>
    public async Task<LifecyclePreview> PreviewAsync(long repositoryId, string repository, LifecyclePolicy policy, CancellationToken cancellationToken)
    {
        await FlushPullsAsync(cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        var images = await metadata.ListImagesAsync(repositoryId, cancellationToken);
        var preview = new LifecyclePreview(repository, policy.Text, now, LifecycleEvaluator.Evaluate(policy, images, now));
        _previews[repository] = preview;
        if (_previews.Count > MaxPreviews)
        {
            foreach (var old in _previews.Values.OrderBy(p => p.EvaluatedAt).Take(_previews.Count - MaxPreviews))
            {
                _previews.TryRemove(old.Repository, out _);
            }
        }

        return preview;
    }

    /// <summary>The last preview of the repository, if one was made since the registry started.</summary>
    public LifecyclePreview? LastPreview(string repository) => _previews.TryGetValue(repository, out var preview) ? preview : null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.Value.Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RunAsync(repository: null, Scheduled, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping between or inside a batch: every batch is its own transaction.
        }
    }

    private async Task ApplyAsync(StoredLifecyclePolicy stored, LifecyclePolicy policy, long runId, List<ExpiredImage> expired, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var images = await metadata.ListImagesAsync(stored.RepositoryId, cancellationToken);
        var expiries = LifecycleEvaluator.Evaluate(policy, images, now);
        foreach (var batch in expiries.Chunk(options.Value.BatchSize))
        {
            // One batch under the write lock: the re-check and the delete see the same state as any push, and the
            // in-memory index follows the database before the lock is released.
            var done = await store.ExclusiveAsync(
                async () =>
                {
                    var deleted = await metadata.ExpireAsync(stored.RepositoryId, stored.Repository, runId, batch, now, CancellationToken.None);
                    if (deleted.Count > 0 && store.TryGetRepository(stored.Repository, out var indexId))
                    {
                        foreach (var image in deleted)
                        {
                            store.ForgetManifest(indexId, image.Digest, image.Tags);
                        }
                    }

                    return deleted;
                },
                cancellationToken);
            foreach (var image in done)
            {
                LogExpired(logger, image.Repository, image.Digest, image.Tags.Count == 0 ? "untagged" : string.Join(", ", image.Tags), image.RulePriority, image.Reason);
            }

            expired.AddRange(done);
        }

        await metadata.MarkEvaluatedAsync(stored.RepositoryId, now, cancellationToken);
    }

    // What was pulled since the last flush counts for sinceImagePulled now, not a flush interval later. Best effort,
    // as the flush itself is: a failure only makes images look less recently pulled.
    private async Task FlushPullsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await pulls.FlushAsync(cancellationToken);
        }
        catch (Microsoft.Data.Sqlite.SqliteException exception)
        {
            LogRunFailed(logger, exception);
        }
    }
}
