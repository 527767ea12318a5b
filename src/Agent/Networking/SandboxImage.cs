using System.Buffers.Binary;
using System.Formats.Tar;
using Berth.Agent.Configuration;
using Berth.Agent.Runtime;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Networking;

/// <summary>
/// The image of awsvpc sandbox ("pause") containers, made on the host itself on first use, with no registry: a
/// statically linked busybox (Debian's <c>busybox-static</c>) and the two links the sandbox's command needs, imported
/// into the engine. The sandbox runs <c>sh</c> with a TERM trap around a long <c>sleep</c>: as PID 1 of its namespace it
/// would otherwise ignore SIGTERM and every stop would wait for SIGKILL.
/// </summary>
internal sealed partial class SandboxImage(IContainerRuntime runtime, IOptions<AgentOptions> options, ILogger<SandboxImage> logger) : IDisposable
{
    public const string Reference = "berth/sandbox:1";

    /// <summary>What the sandbox runs.</summary>
    public static readonly IReadOnlyList<string> Command = ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 2147483647 & wait"];

    private readonly SemaphoreSlim _gate = new(1, 1);

    public void Dispose() => _gate.Dispose();

    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (await runtime.InspectImageAsync(Reference, cancellationToken) is not null)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (await runtime.InspectImageAsync(Reference, cancellationToken) is not null)
            {
                return;
            }

            var busybox = options.Value.Awsvpc.BusyboxPath;
            using var tar = BuildRootfs(busybox);
            await runtime.ImportImageAsync(Reference, tar, ["LABEL berth.sandbox=1", "ENV PATH=/bin"], cancellationToken);
            LogBuilt(logger, Reference, busybox);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The sandbox's root file system as a tar stream.</summary>
    internal static MemoryStream BuildRootfs(string busybox)
    {
        byte[] binary;
        try
        {
            binary = File.ReadAllBytes(busybox);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new NetworkSetupException($"cannot read {busybox} for the sandbox image (install busybox-static, or set Awsvpc:BusyboxPath): {ex.Message}");
        }

        if (!IsStaticElf(binary))
        {
            throw new NetworkSetupException($"{busybox} is not a statically linked 64-bit ELF program; the sandbox image has no libraries (install busybox-static)");
        }

        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var directory in new[] { "bin/", "etc/", "tmp/", "proc/", "sys/", "dev/" })
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, directory) { Mode = (UnixFileMode)0b111_101_101 });
            }

            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "bin/busybox")
            {
                Mode = (UnixFileMode)0b111_101_101,
                DataStream = new MemoryStream(binary),
            });
            foreach (var applet in new[] { "sh", "sleep" })
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, $"bin/{applet}") { LinkName = "busybox", Mode = (UnixFileMode)0b111_111_111 });
            }
        }

        stream.Position = 0;
        return stream;
    }

    /// <summary>A 64-bit ELF executable without a PT_INTERP program header (no dynamic loader) is static.</summary>
    internal static bool IsStaticElf(ReadOnlySpan<byte> elf)
    {
        const int ProgramHeaderInterpreter = 3;
        if (elf.Length < 64 || elf[0] != 0x7F || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F' || elf[4] != 2 || elf[5] != 1)
        {
            return false;
        }

        var offset = BinaryPrimitives.ReadUInt64LittleEndian(elf[0x20..]);
        var size = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x36..]);
        var count = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x38..]);
        for (var i = 0; i < count; i++)
        {
            var at = offset + ((ulong)i * size);
            if (at + 4 > (ulong)elf.Length)
            {
                return false;
            }

            if (BinaryPrimitives.ReadUInt32LittleEndian(elf[(int)at..]) == ProgramHeaderInterpreter)
            {
                return false;
            }
        }

        return true;
    }
}
