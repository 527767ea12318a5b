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
                await PullAsync(image, credentials, cancellationToken);
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
