using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Berth.Core.Images;
using Berth.Core.TaskDefinitions;
using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.RegistryAccess;

/// <summary>
/// Hands each task that runs images from the trusted registry the current pull credential, in its entry of the desired
/// state (<c>DesiredTask.registry_credentials</c>), one per registry address its images name. The agent gives it to
/// the engine for exactly that registry (X-Registry-Auth), as the ECS agent does with an ECR authorization token.
/// </summary>
/// <remarks>
/// The state caches each task's <see cref="DesiredTask"/> and reuses it for every push; this adds the credential to a
/// clone that is itself cached per (entry, credential), so a push costs no allocation per task until the entry or the
/// credential changes. Tasks that are to stop get nothing: they pull nothing.
/// </remarks>
internal sealed class TaskRegistryCredentials(RegistryLoginPasswords passwords, IOptions<RegistryAccessOptions> options)
{
    /// <summary>How long the first push after a start may wait for the first credential.</summary>
    internal static readonly TimeSpan FirstCredentialWait = TimeSpan.FromSeconds(10);

    private readonly HashSet<string> _addresses = new(options.Value.EffectiveAddresses, StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, string[]> _registriesByDefinition = new(StringComparer.Ordinal);
    private readonly ConditionalWeakTable<DesiredTask, WithCredential> _attached = [];

    /// <summary>
    /// Whether a desired state with these definitions may need a credential (some definition names an image on the
    /// trusted registry); when not, a push can go out as pre-encoded bytes without passing through
    /// <see cref="AttachAsync"/>.
    /// </summary>
    public bool MayAttach(IEnumerable<Sessions.DesiredDefinition> definitions) =>
        _addresses.Count > 0 && definitions.Any(d => _registriesByDefinition.GetOrAdd(d.Arn, _ => TrustedRegistriesOf(d.Json)).Length > 0);

    /// <summary>Adds the credential to every running task of <paramref name="desired"/> whose images are on the trusted registry.</summary>
    public async ValueTask<DesiredState> AttachAsync(DesiredState desired, CancellationToken cancellationToken)
    {
        if (_addresses.Count == 0)
        {
            return desired;
        }

        Dictionary<string, string[]>? registries = null;
        foreach (var document in desired.TaskDefinitions)
        {
            var trusted = _registriesByDefinition.GetOrAdd(document.TaskDefinitionArn, _ => TrustedRegistriesOf(document.TaskDefinitionJson));
            if (trusted.Length > 0)
            {
                (registries ??= new(StringComparer.Ordinal))[document.TaskDefinitionArn] = trusted;
            }
        }

        if (registries is null || !desired.Tasks.Any(t => t.DesiredStatus == LifecycleStatus.Running && registries.ContainsKey(t.TaskDefinitionArn)))
        {
            return desired;
        }

        if (await passwords.GetAsync(FirstCredentialWait, cancellationToken) is not { } credential)
        {
            // No credential (the registry is unreachable): the task goes out as it is and its pull fails with the
            // registry's own answer (CannotPullContainerError), which says more than a placeholder would.
            return desired;
        }

        for (var i = 0; i < desired.Tasks.Count; i++)
        {
            var task = desired.Tasks[i];
            if (task.DesiredStatus == LifecycleStatus.Running && registries.TryGetValue(task.TaskDefinitionArn, out var trusted))
            {
                desired.Tasks[i] = With(task, trusted, credential);
            }
        }

        return desired;
    }

    private DesiredTask With(DesiredTask task, string[] registries, LoginPassword credential)
    {
        if (_attached.TryGetValue(task, out var attached) && ReferenceEquals(attached.Credential, credential))
        {
            return attached.Task;
        }

        var clone = task.Clone();
        clone.RegistryCredentials.Clear();
        foreach (var registry in registries)
        {
            clone.RegistryCredentials.Add(new V1.RegistryCredential
            {
                Registry = registry,
                Username = credential.Username,
                Password = credential.Password,
                ExpiresAt = Timestamp.FromDateTimeOffset(credential.ExpiresAt),
            });
        }

        _attached.AddOrUpdate(task, new WithCredential(credential, clone));
        return clone;
    }

    // Registered definitions are immutable, so an ARN's answer never changes.
    private string[] TrustedRegistriesOf(string json)
    {
        try
        {
            return (TaskDefinitionJson.ParseStored(json).ContainerDefinitions ?? [])
                .Where(c => !string.IsNullOrEmpty(c?.Image))
                .Select(c => ImageReference.RegistryHost(c.Image!))
                .Where(_addresses.Contains)
                .Distinct(StringComparer.OrdinalIgnoreCase)
                .ToArray();
        }
        catch (TaskDefinitionException)
        {
            return [];
        }
    }

    private sealed record WithCredential(LoginPassword Credential, DesiredTask Task);
}
