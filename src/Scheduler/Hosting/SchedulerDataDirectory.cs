using Berth.Core.Hosting;
using Berth.Core.IO;

namespace Berth.Scheduler.Hosting;

/// <summary>
/// Every path under the scheduler's data directory, named once. <see cref="Open"/> makes the directory 0700 and the
/// files in it 0600 (the database holds task definitions with their environment values in clear text), tightening
/// what an older version left looser, before the store or the tokens touch it.
/// </summary>
/// <remarks>
/// <code>
/// &lt;data-dir&gt;/               0700
///   scheduler.db (-wal, -shm)  clusters, instances, task definitions, tasks, services
///   admin-token                the control-plane API token
///   join-token                 the token agents register with
///   registry-pull-secret       (berth up) the pull robot's secret, when configured as Scheduler:Registry:PasswordFile
/// </code>
/// </remarks>
internal sealed class SchedulerDataDirectory
{
    public const string DatabaseName = "scheduler.db";

    private SchedulerDataDirectory(string root)
    {
        Root = root;
    }

    /// <summary>The data directory, as a full path.</summary>
    public string Root { get; }

    public string Database => Path.Combine(Root, DatabaseName);

    public string AdminToken => Path.Combine(Root, WellKnownFiles.AdminToken);

    public string JoinToken => Path.Combine(Root, WellKnownFiles.JoinToken);

    public string RegistryPullSecret => Path.Combine(Root, WellKnownFiles.RegistryPullSecret);

    /// <summary>The layout of <paramref name="dataDirectory"/>, with the directory and its known files made private.</summary>
    public static SchedulerDataDirectory Open(string dataDirectory)
    {
        var layout = new SchedulerDataDirectory(PrivateDirectory.Ensure(dataDirectory));
        PrivateDirectory.EnsureDatabase(layout.Database);
        PrivateDirectory.Tighten(layout.AdminToken);
        PrivateDirectory.Tighten(layout.JoinToken);
        PrivateDirectory.Tighten(layout.RegistryPullSecret);
        return layout;
    }
}
