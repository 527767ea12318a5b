using System.Runtime.InteropServices;

namespace Berth.Registry.Memory;

/// <summary>
/// glibc's malloc gives threads their own arenas, up to 8 per core, and each keeps the memory its thread freed. The
/// registry's native allocations (OpenSSL hash contexts of every upload, SQLite's page caches) come from whichever
/// thread-pool thread runs the request, so under load a 2-core box grew 16 arenas of retained memory: limiting them
/// cut RSS under the benchmark's load by ~20 MiB (docs/benchmarks.md) with no measurable CPU cost, since the hot paths
/// allocate managed memory, not native. Same effect as <c>MALLOC_ARENA_MAX</c>, which must be set before the process
/// starts; this works without it. Arenas made before the call stay; it only stops new ones.
/// </summary>
internal static partial class NativeHeap
{
    // glibc's malloc.h: #define M_ARENA_MAX -8
    private const int ArenaMaxParameter = -8;

    public static void LimitArenas()
    {
        var configured = Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX");
        if (!OperatingSystem.IsLinux() || !string.IsNullOrEmpty(configured))
        {
            return;
        }

        try
        {
            // 0 means glibc refused: the default stays, which is only more memory.
            _ = Mallopt(ArenaMaxParameter, Math.Max(2, Environment.ProcessorCount));
        }
        catch (Exception exception) when (exception is DllNotFoundException or EntryPointNotFoundException)
        {
            // musl (Alpine) and other C libraries: their malloc has no per-thread arenas to limit.
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int parameter, int value);
}
