using System.Collections.Concurrent;
using Berth.Agent.Configuration;

namespace Berth.Agent.Tasks;

/// <summary>
/// Per image reference: after a failed pull, no new pull before a delay that doubles with every failure in a row
/// (from <see cref="ImagePullBackoffOptions.Initial"/> up to <see cref="ImagePullBackoffOptions.Maximum"/>, each step
/// jittered down by up to half so that a host's tasks do not retry in lockstep), reset by a good pull. A service whose
/// image does not exist then costs the registry one pull per step, not one per task launch.
/// </summary>
internal sealed class ImagePullBackoff(ImagePullBackoffOptions options, TimeProvider time, Random random)
{
    private readonly ConcurrentDictionary<string, Failure> _failures = new(StringComparer.Ordinal);

    /// <summary>The failures of one image in a row: how many, the last error, and when a pull may be tried again.</summary>
    public sealed record Failure(int Count, string LastError, DateTimeOffset RetryAt);

    /// <summary>The image's failure record when its backoff has not run out yet; null when a pull may go ahead.</summary>
    public Failure? Blocking(string image) =>
        _failures.TryGetValue(image, out var failure) && time.GetUtcNow() < failure.RetryAt ? failure : null;

    /// <summary>Records a failed pull and returns the new record (with the next retry time).</summary>
    public Failure RecordFailure(string image, string error) =>
        _failures.AddOrUpdate(image, _ => Next(1, error), (_, last) => Next(last.Count + 1, error));

    /// <summary>A pull worked: the image starts over.</summary>
    public void RecordSuccess(string image) => _failures.TryRemove(image, out _);

    private Failure Next(int count, string error)
    {
        var step = Math.Min(options.Maximum.TotalMilliseconds, options.Initial.TotalMilliseconds * Math.Pow(2, Math.Min(count - 1, 30)));
        var delay = TimeSpan.FromMilliseconds((step / 2) + (random.NextDouble() * step / 2));
        return new Failure(count, error, time.GetUtcNow() + delay);
    }
}
