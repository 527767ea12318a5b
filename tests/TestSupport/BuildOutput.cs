using System.Text.Json;

namespace Berth.TestSupport;

/// <summary>What the build wrote beside a program: the shared frameworks it asks the host for, and the packages it carries.</summary>
public static class BuildOutput
{
    /// <summary>The <c>frameworks</c> (or the single <c>framework</c>) of <paramref name="assemblyName"/>'s runtimeconfig.json in the test's output.</summary>
    public static IReadOnlyList<string> Frameworks(string assemblyName)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, assemblyName + ".runtimeconfig.json")));
        var options = document.RootElement.GetProperty("runtimeOptions");
        return options.TryGetProperty("frameworks", out var many)
            ? [.. many.EnumerateArray().Select(f => f.GetProperty("name").GetString()!)]
            : [options.GetProperty("framework").GetProperty("name").GetString()!];
    }

    /// <summary>The package libraries (<c>name/version</c>) in <paramref name="assemblyName"/>'s deps.json.</summary>
    public static IReadOnlyList<string> Packages(string assemblyName)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, assemblyName + ".deps.json")));
        return [.. document.RootElement.GetProperty("libraries").EnumerateObject()
            .Where(l => l.Value.GetProperty("type").GetString() == "package")
            .Select(l => l.Name)];
    }
}
