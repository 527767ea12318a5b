namespace Berth.Cli.Up;

/// <summary>
/// Where the registry, scheduler and agent builds are: beside the CLI's own build in this checkout
/// (<c>src/X/bin/CONFIGURATION/net10.0/Berth.X.dll</c>, built with it because the CLI project orders them), or in a
/// directory named by <c>BERTH_BIN_DIR</c> that holds all four (a publish of each into one folder).
/// </summary>
internal sealed record PlatformBinaries(string Registry, string Scheduler, string Agent, string RepositoryRoot, string LoadBalancer)
{
    public static PlatformBinaries Locate(Func<string, string?> variable)
    {
        var cliDirectory = AppContext.BaseDirectory;
        if (variable("BERTH_BIN_DIR") is { Length: > 0 } bin)
        {
            return Check(new(Path.Combine(bin, "Berth.Registry.dll"), Path.Combine(bin, "Berth.Scheduler.dll"), Path.Combine(bin, "Berth.Agent.dll"), Directory.GetCurrentDirectory(), Path.Combine(bin, "Berth.LoadBalancer.dll")));
        }

        var root = new DirectoryInfo(cliDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Platform.sln")))
        {
            root = root.Parent;
        }

        if (root is null)
        {
            throw new Common.CliException($"berth up runs the registry, scheduler and agent from a Berth checkout, and {cliDirectory} is not inside one. Run ./berth up from the repository, or set BERTH_BIN_DIR to a folder holding Berth.Registry.dll, Berth.Scheduler.dll and Berth.Agent.dll.");
        }

        // bin/<configuration>/<tfm>/: the services were built in the same configuration as the CLI.
        var tfmDirectory = new DirectoryInfo(cliDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = tfmDirectory.Parent?.Name ?? "Release";
        var tfm = tfmDirectory.Name;
        string Dll(string project) => Path.Combine(root.FullName, "src", project, "bin", configuration, tfm, $"Berth.{project}.dll");
        return Check(new(Dll("Registry"), Dll("Scheduler"), Dll("Agent"), root.FullName, Dll("LoadBalancer")));
    }

    private static PlatformBinaries Check(PlatformBinaries binaries)
    {
        foreach (var dll in new[] { binaries.Registry, binaries.Scheduler, binaries.Agent, binaries.LoadBalancer })
        {
            if (!File.Exists(dll))
            {
                throw new Common.CliException($"{dll} is missing. Build the platform first: ./berth builds it (or `dotnet build src/Cli -c Release`).");
            }
        }

        return binaries;
    }
}
