namespace Berth.TestSupport;

/// <summary>
/// Test images made offline: Docker Hub is unreachable, so the base image is a busybox rootfs imported with
/// <c>docker import</c> from Debian's busybox-static.
/// </summary>
public static class TestImages
{
    /// <summary>The base image every system test builds on.</summary>
    public const string Busybox = "berth-test/busybox:1";

    private static readonly SemaphoreSlim s_gate = new(1, 1);
    private static readonly string[] s_applets = ["sh", "ls", "cat", "echo", "sleep", "nc", "httpd", "env", "true", "false", "test", "mkdir", "rm", "wc", "head", "dd", "kill", "ps", "id", "hostname"];

    /// <summary>Imports <see cref="Busybox"/> into the engine at <paramref name="dockerHost"/> (default engine when null) unless it is there.</summary>
    public static async Task<string> EnsureBusyboxAsync(string? dockerHost = null, Action<string>? log = null)
    {
        await s_gate.WaitAsync();
        try
        {
            var env = DockerEnvironment(dockerHost);
            var inspect = await ProcessRunner.RunAsync("docker", ["image", "inspect", "--format", "{{.Id}}", Busybox], environment: env);
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

    /// <summary>Environment for the docker CLI that points it at <paramref name="dockerHost"/> when given.</summary>
    public static Dictionary<string, string> DockerEnvironment(string? dockerHost) =>
        dockerHost is null ? [] : new() { ["DOCKER_HOST"] = dockerHost };
}
