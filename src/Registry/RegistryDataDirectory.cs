using Berth.Core.Hosting;
using Berth.Core.IO;

namespace Berth.Registry;

/// <summary>
/// Every path under the registry's data directory, named once (distribution's <c>paths.go</c>). <see cref="Open"/>
/// makes the directory and its subdirectories 0700 and the files in it 0600, tightening what an older version left
/// looser, before anything in the registry reads or writes there.
/// </summary>
/// <remarks>
/// <code>
/// &lt;data-dir&gt;/                  0700
///   registry.db (-wal, -shm)    image metadata (EF Core's schema, plain SQL at run time)
///   auth.db (-wal, -shm)        users, robots, permissions, refresh tokens
///   auth/token-signing-key.pem  the ES256 key tokens are signed with
///   blobs/sha256/ab/abcd...     content, by digest
///   uploads/&lt;id&gt;              uploads in progress (same filesystem as blobs/, for the final rename)
///   initial-admin-password      the first admin's password, written once
///   registry.lock               one registry process per data directory
/// </code>
/// </remarks>
internal sealed class RegistryDataDirectory
{
    public const string RegistryDatabaseName = "registry.db";
    public const string AuthDatabaseName = "auth.db";

    private RegistryDataDirectory(string root)
    {
        Root = root;
    }

    /// <summary>The data directory, as a full path.</summary>
    public string Root { get; }

    public string RegistryDatabase => Path.Combine(Root, RegistryDatabaseName);

    public string AuthDatabase => Path.Combine(Root, AuthDatabaseName);

    public string Blobs => Path.Combine(Root, "blobs");

    public string Uploads => Path.Combine(Root, "uploads");

    public string AuthKeys => Path.Combine(Root, "auth");

    public string SigningKey => Path.Combine(AuthKeys, "token-signing-key.pem");

    public string InitialAdminPassword => Path.Combine(Root, WellKnownFiles.InitialAdminPassword);

    public string Lock => Path.Combine(Root, "registry.lock");

    /// <summary>The layout of <paramref name="dataDir"/>, with the directory and its known contents made private.</summary>
    public static RegistryDataDirectory Open(string dataDir)
    {
        var layout = new RegistryDataDirectory(PrivateDirectory.Ensure(dataDir));
        PrivateDirectory.Ensure(layout.Blobs);
        PrivateDirectory.Ensure(layout.Uploads);
        PrivateDirectory.Ensure(layout.AuthKeys);
        PrivateDirectory.EnsureDatabase(layout.RegistryDatabase);
        PrivateDirectory.EnsureDatabase(layout.AuthDatabase);
        PrivateDirectory.Tighten(layout.SigningKey);
        PrivateDirectory.Tighten(layout.InitialAdminPassword);
        PrivateDirectory.EnsureFile(layout.Lock);
        return layout;
    }

    /// <summary>An upload's file.</summary>
    public string Upload(string uploadId) => Path.Combine(Uploads, uploadId);

    /// <summary>A blob's file: <c>blobs/&lt;algorithm&gt;/&lt;hex[0..2]&gt;/&lt;hex&gt;</c>.</summary>
    public string Blob(string algorithm, string hex) => Path.Combine(Blobs, algorithm, hex[..2], hex);
}
