using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Berth.Registry.PullThrough;

/// <summary><c>Registry:PullThrough</c>: how cached repositories follow their upstream (the rules are set through the admin API).</summary>
internal sealed class PullThroughOptions
{
    public const string SectionName = "Registry:PullThrough";

    /// <summary>
    /// How long a cached tag is served without asking the upstream where it points now (ECR re-checks after 24 hours).
    /// After it, a pull HEADs the upstream manifest and fetches the tag again only when it moved.
    /// </summary>
    public TimeSpan TagTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long the upstream may take to answer a request's headers; past it, cached content is served if there is any.</summary>
    public TimeSpan UpstreamTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Blob bytes read from the upstream per read (and sent on to the client per write).</summary>
    [Range(4096, 4 * 1024 * 1024)]
    public int CopyBufferBytes { get; set; } = 256 * 1024;
}

internal sealed class PullThroughOptionsValidator : IValidateOptions<PullThroughOptions>
{
    public ValidateOptionsResult Validate(string? name, PullThroughOptions options) =>
        options.TagTtl < TimeSpan.Zero || options.UpstreamTimeout <= TimeSpan.Zero
            ? ValidateOptionsResult.Fail($"{PullThroughOptions.SectionName}: TagTtl must not be negative and UpstreamTimeout must be positive")
            : ValidateOptionsResult.Success;
}
