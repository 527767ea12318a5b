using System.Net;
using System.Net.Sockets;
using Berth.TestSupport;

namespace Berth.Cli.Tests;

/// <summary>The real registry and scheduler processes, from their build outputs, on free loopback ports.</summary>
public static class PlatformProcesses
{
    /// <summary>The directory of <c>src/PROJECT</c>'s build output in the configuration the tests were built in.</summary>
    public static string Binary(string project, string file)
    {
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        return Path.Combine(RepositoryRoot(), "src", project, "bin", configuration, "net10.0", file);
    }

    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Platform.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Platform.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Starts a scheduler; returns it, its URL and its admin-token file once it answers.</summary>
    public static async Task<(ServiceProcess Process, string Url, string TokenFile)> StartSchedulerAsync(string dataDirectory, Action<string> log)
    {
        var url = $"http://127.0.0.1:{TestPorts.Next()}";
        var process = ServiceProcess.Start("scheduler", Binary("Scheduler", "Berth.Scheduler.dll"), ["--urls", url, "--data-dir", dataDirectory], log);
        var tokenFile = Path.Combine(dataDirectory, "admin-token");
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            if (!File.Exists(tokenFile))
            {
                return false;
            }

            using var tcp = new TcpClient();
            try
            {
                await tcp.ConnectAsync(IPAddress.Loopback, new Uri(url).Port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(90), "the scheduler to listen");
        return (process, url, tokenFile);
    }

    /// <summary>Starts a registry (auth on); returns it, its URL and the admin password once it answers.</summary>
    public static async Task<(ServiceProcess Process, string Url, string Password)> StartRegistryAsync(string dataDirectory, Action<string> log)
    {
        var url = $"http://127.0.0.1:{TestPorts.Next()}";
        var process = ServiceProcess.Start("registry", Binary("Registry", "Berth.Registry.dll"), ["--urls", url, "--data-dir", dataDirectory], log);
        using var http = new HttpClient();
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            try
            {
                using var response = await http.GetAsync(new Uri(url + "/v2/"));
                return File.Exists(Path.Combine(dataDirectory, "initial-admin-password"));
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(90), "the registry to answer");
        return (process, url, (await File.ReadAllTextAsync(Path.Combine(dataDirectory, "initial-admin-password"))).Trim());
    }
}
