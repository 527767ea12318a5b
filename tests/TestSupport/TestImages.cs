namespace Berth.TestSupport;

/// <summary>
/// Test images made offline: Docker Hub is unreachable, so the base image is a busybox rootfs imported with
/// <c>docker import</c> from Debian's busybox-static.
/// </summary>
/// <remarks>
/// Tests remove what they create, the base image included, but the test projects run in parallel processes that share
/// it. So each process that uses the default engine's image holds a lease (a file named by its PID, under a lock file
/// every process takes first); the last process to exit removes the image, and only when a leaseholder imported it (an
/// image that was there before the run is not the run's to remove).
/// </remarks>
public static class TestImages
{
    /// <summary>The base image every system test builds on.</summary>
    public const string Busybox = "berth-test/busybox:1";

    private static readonly SemaphoreSlim s_gate = new(1, 1);
    private static readonly string s_leases = Path.Combine(Path.GetTempPath(), "berth-test-images");
    private static bool s_leased;
    private static readonly string[] s_applets = ["sh", "ls", "cat", "echo", "sleep", "nc", "httpd", "env", "true", "false", "test", "mkdir", "rm", "wc", "head", "dd", "kill", "ps", "id", "hostname"];

    /// <summary>Imports <see cref="Busybox"/> into the engine at <paramref name="dockerHost"/> (default engine when null) unless it is there.</summary>
    public static async Task<string> EnsureBusyboxAsync(string? dockerHost = null, Action<string>? log = null)
    {
        await s_gate.WaitAsync();
        // Lab engines go with their lab; only the shared default engine's image is leased.
        using var leaseLock = dockerHost is null ? await LockAsync() : null;
        try
        {
            var env = DockerEnvironment(dockerHost);
            var inspect = await ProcessRunner.RunAsync("docker", ["image", "inspect", "--format", "{{.Id}}", Busybox], environment: env);
            if (dockerHost is null)
            {
                Lease(importing: inspect.ExitCode != 0);
            }

            if (inspect.ExitCode == 0)
            {
                return Busybox;
            }

            var busybox = new[] { "/bin/busybox", "/usr/bin/busybox" }.FirstOrDefault(File.Exists)
                ?? throw new InvalidOperationException("busybox is not installed: apt-get install -y busybox-static");
            var root = Directory.CreateTempSubdirectory("berth-busybox-");
            try
            {
                var bin = Directory.CreateDirectory(Path.Combine(root.FullName, "bin"));
                File.Copy(busybox, Path.Combine(bin.FullName, "busybox"));
                foreach (var applet in s_applets)
                {
                    File.CreateSymbolicLink(Path.Combine(bin.FullName, applet), "busybox");
                }

                Directory.CreateDirectory(Path.Combine(root.FullName, "tmp"));
                Directory.CreateDirectory(Path.Combine(root.FullName, "etc"));
                await File.WriteAllTextAsync(Path.Combine(root.FullName, "etc", "passwd"), "root:x:0:0:root:/:/bin/sh\n");
                var tar = Path.Combine(root.FullName, "..", $"{root.Name}.tar");
                (await ProcessRunner.RunAsync("tar", ["-C", root.FullName, "-cf", tar, "."])).EnsureSuccess("tar");
                try
                {
                    (await ProcessRunner.RunAsync(
                        "docker",
                        ["import", "--change", "CMD [\"/bin/sh\"]", "--change", "ENV PATH=/bin", tar, Busybox],
                        environment: env,
                        log: log)).EnsureSuccess("docker import");
                }
                finally
                {
                    File.Delete(tar);
                }
            }
            finally
            {
                root.Delete(recursive: true);
            }

            return Busybox;
        }
        finally
        {
            s_gate.Release();
        }
    }

    // Under the lock: this process holds a lease from now until it exits; `imported` marks that the run made the image.
    private static void Lease(bool importing)
    {
        if (importing)
        {
            File.WriteAllText(Path.Combine(s_leases, "imported"), string.Empty);
        }

        if (s_leased)
        {
            return;
        }

        File.WriteAllText(LeaseFile(Environment.ProcessId), string.Empty);
        s_leased = true;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Release();
    }

    /// <summary>At exit: give up the lease; the last leaseholder removes the image the run imported.</summary>
    private static void Release()
    {
        try
        {
            using var leaseLock = LockAsync().GetAwaiter().GetResult();
            File.Delete(LeaseFile(Environment.ProcessId));
            var others = Directory.GetFiles(s_leases, "*.lease").Where(f => IsAlive(Path.GetFileNameWithoutExtension(f))).ToList();
            var imported = Path.Combine(s_leases, "imported");
            if (others.Count == 0 && File.Exists(imported))
            {
                // Not forced: a container that still uses it (a leak of its own) keeps it, and says so in the test log.
                var removed = ProcessRunner.RunAsync("docker", ["rmi", Busybox]).GetAwaiter().GetResult();
                if (removed.ExitCode == 0)
                {
                    File.Delete(imported);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            // Cleanup at exit must never fail the run.
        }
    }

    /// <summary>The cross-process lock: an exclusive open of one file (.NET takes flock for FileShare.None on Unix).</summary>
    private static async Task<FileStream> LockAsync()
    {
        Directory.CreateDirectory(s_leases);
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (true)
        {
            try
            {
                return new FileStream(Path.Combine(s_leases, "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    private static string LeaseFile(int pid) => Path.Combine(s_leases, $"{pid}.lease");

    // A lease of a process that died without releasing (kill -9) is stale: /proc tells.
    private static bool IsAlive(string pid) => Directory.Exists($"/proc/{pid}");

    /// <summary>Environment for the docker CLI that points it at <paramref name="dockerHost"/> when given.</summary>
    public static Dictionary<string, string> DockerEnvironment(string? dockerHost) =>
        dockerHost is null ? [] : new() { ["DOCKER_HOST"] = dockerHost };
}
