using System.Collections.Concurrent;
using Berth.Agent.Configuration;
using Berth.Agent.Runtime;
using Berth.Core.Images;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Tasks;

/// <summary>
/// Gets a task's image onto the host according to the pull behavior, and remembers which images this agent
/// pulled and when each was last used (for <c>once</c> and for least-recently-used cleanup).
/// </summary>
internal sealed partial class ImageStore(IContainerRuntime runtime, IOptions<AgentOptions> options, AgentDataDirectory data, TimeProvider time, ILogger<ImageStore> logger)
{
    private readonly ImagePullBackoff _backoff = new(options.Value.ImagePullBackoff, time, Random.Shared);
    private readonly Lazy<ConcurrentDictionary<string, DateTimeOffset>> _lastUsed = new(() => new(AgentDataDirectory.Read<Dictionary<string, DateTimeOffset>>(data.Images) ?? []));
    private readonly Lock _saveLock = new();
    private readonly Lock _pullLock = new();
    private readonly Dictionary<string, SharedPull> _pulls = new(StringComparer.Ordinal);

    /// <summary>Makes <paramref name="image"/> available; throws <see cref="ImagePullException"/> when it cannot.</summary>
    public async Task EnsureAsync(string image, IReadOnlyList<RegistryCredential> credentials, CancellationToken cancellationToken)
    {
        var behavior = options.Value.ImagePullBehavior;
        var pull = behavior switch
        {
            ImagePullBehavior.Always or ImagePullBehavior.Default => true,
            ImagePullBehavior.PreferCached => await runtime.InspectImageAsync(image, cancellationToken) is null,
            ImagePullBehavior.Once => !_lastUsed.Value.ContainsKey(image) || await runtime.InspectImageAsync(image, cancellationToken) is null,
            _ => true,
        };
        if (pull)
        {
            try
            {
                await PullSharedAsync(image, credentials, cancellationToken);
            }
            catch (ImagePullException ex) when (behavior == ImagePullBehavior.Default)
            {
                if (await runtime.InspectImageAsync(image, cancellationToken) is null)
                {
                    throw;
                }

                LogPullFellBack(logger, image, ex.Message);
            }
        }

        MarkUsed(image);
    }

    /// <summary>
    /// Joins the pull of <paramref name="image"/> already running, or starts it. Tasks of one image launched together
    /// share one pull: each pull of its own fetched the manifest again and, for an image that cannot be pulled, counted
    /// as a failure of its own, so the backoff grew per task instead of per attempt. The first caller's credentials are
    /// used (the scheduler hands every task the same credential per registry). A caller that leaves (its task stopped)
    /// stops waiting; the pull itself is cancelled only when no caller waits for it any more.
    /// </summary>
    private async Task PullSharedAsync(string image, IReadOnlyList<RegistryCredential> credentials, CancellationToken cancellationToken)
    {
        SharedPull pull;
        lock (_pullLock)
        {
            if (!_pulls.TryGetValue(image, out pull!))
            {
                pull = new SharedPull();
                _pulls[image] = pull;
                pull.Completion = RunSharedPullAsync(image, credentials, pull);
            }

            pull.Waiters++;
        }

        try
        {
            await pull.Completion.WaitAsync(cancellationToken);
        }
        finally
        {
            var abandon = false;
            lock (_pullLock)
            {
                if (--pull.Waiters == 0 && !pull.Finished)
                {
                    // The next caller starts afresh rather than joining a pull on its way out.
                    pull.Abandoned = abandon = true;
                    _pulls.Remove(image);
                }
            }

            if (abandon)
            {
                await pull.Cancel.CancelAsync();
                pull.Cancel.Dispose();
            }
        }
    }

    private async Task RunSharedPullAsync(string image, IReadOnlyList<RegistryCredential> credentials, SharedPull pull)
    {
        // Off the caller's lock before anything runs.
        await Task.Yield();
        try
        {
            await PullAsync(image, credentials, pull.Cancel.Token);
        }
        finally
        {
            bool dispose;
            lock (_pullLock)
            {
                pull.Finished = true;
                dispose = !pull.Abandoned;
                if (_pulls.TryGetValue(image, out var current) && current == pull)
                {
                    _pulls.Remove(image);
                }
            }

            // Whoever sees the pull last disposes its cancellation source: the abandoning caller after cancelling, or here.
            if (dispose)
            {
                pull.Cancel.Dispose();
            }
        }
    }

    /// <summary>One pull in flight and the callers waiting for it; the counts and flags are read and written under the store's pull lock.</summary>
    private sealed class SharedPull
    {
        public CancellationTokenSource Cancel { get; } = new();

        public Task Completion { get; set; } = Task.CompletedTask;

        public int Waiters { get; set; }

        public bool Finished { get; set; }

        public bool Abandoned { get; set; }
    }

    /// <summary>Pulls, unless the image's pulls keep failing and its backoff has not run out: then fails at once with the last error.</summary>
    private async Task PullAsync(string image, IReadOnlyList<RegistryCredential> credentials, CancellationToken cancellationToken)
    {
        if (_backoff.Blocking(image) is { } waiting)
        {
            throw new ImagePullException(Describe(image, waiting));
        }

        try
        {
            await runtime.PullImageAsync(image, CredentialFor(image, credentials), new PullLog(logger, image), cancellationToken);
        }
        catch (ImagePullException ex)
        {
            var failure = _backoff.RecordFailure(image, ex.Message);
            LogPullBackingOff(logger, image, failure.Count, (failure.RetryAt - time.GetUtcNow()).TotalSeconds, ex.Message);
            throw new ImagePullException(failure.Count == 1 ? ex.Message : Describe(image, failure), ex);
        }

        _backoff.RecordSuccess(image);
        LogPulled(logger, image);
    }

    // The engine's own words first: they are the cause (`manifest for ... not found`, `unauthorized`), and the stop reason
    // reads `CannotPullContainerError: <them>` as ECS's does.
    private string Describe(string image, ImagePullBackoff.Failure failure)
    {
        var wait = failure.RetryAt - time.GetUtcNow();
        return $"{failure.LastError} (pulling {image} failed {failure.Count} times in a row; the agent pulls it again in {FormatWait(wait)})";
    }

    private static string FormatWait(TimeSpan wait) =>
        wait <= TimeSpan.Zero ? "a moment"
        : wait < TimeSpan.FromMinutes(1) ? $"{Math.Ceiling(wait.TotalSeconds):0}s"
        : $"{(int)wait.TotalMinutes}m{wait.Seconds:00}s";

    /// <summary>When each image reference this agent ran was last used.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> LastUsed => _lastUsed.Value;

    public void MarkUsed(string image)
    {
        _lastUsed.Value[image] = time.GetUtcNow();
        Save();
    }

    public void Forget(string image)
    {
        _lastUsed.Value.TryRemove(image, out _);
        Save();
    }

    private void Save()
    {
        lock (_saveLock)
        {
            try
            {
                // Losing the last-use times in a crash only makes cleanup less precise: no fsync on the launch path.
                AgentDataDirectory.Write(data.Images, _lastUsed.Value.ToDictionary(), durable: false);
            }
            catch (IOException ex)
            {
                LogStateNotSaved(logger, ex.Message);
            }
            catch (UnauthorizedAccessException ex)
            {
                LogStateNotSaved(logger, ex.Message);
            }
        }
    }

    // Only the registry a credential was issued for ever sees it: handing it to another registry (Docker Hub for an
    // unqualified image) would give that registry a secret it could replay against ours.
    private static RegistryCredential? CredentialFor(string image, IReadOnlyList<RegistryCredential> credentials)
    {
        var registry = ImageReference.RegistryHost(image);
        return credentials.FirstOrDefault(c => string.Equals(c.ServerAddress, registry, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Logs each layer's status changes (Pulling fs layer, Download complete, Pull complete), not every byte.</summary>
    private sealed class PullLog(ILogger logger, string image) : IProgress<PullProgress>
    {
        private readonly Dictionary<string, string> _last = new(StringComparer.Ordinal);

        public void Report(PullProgress value)
        {
            var key = value.Layer ?? string.Empty;
            lock (_last)
            {
                if (_last.TryGetValue(key, out var last) && last == value.Status)
                {
                    return;
                }

                _last[key] = value.Status;
            }

            LogPullProgress(logger, image, key, value.Status);
        }
    }
}
