using System.Runtime.InteropServices;

namespace Berth.Cli.Common;

/// <summary>The few POSIX calls .NET has no API for: a signal to another process, and the terminal's raw mode.</summary>
internal static partial class Posix
{
    public const int SigTerm = 15;

    private const int Esrch = 3;
    private const int TcsaNow = 0;

    // struct termios is 60 bytes on Linux (x86-64 and arm64); a larger buffer leaves room for other layouts, and the
    // bytes are only ever passed back to the same libc.
    private const int TermiosBufferSize = 256;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when the process is already gone (ESRCH), never an error message on the terminal.</summary>
    public static bool Signal(int pid, int signal)
    {
        if (Kill(pid, signal) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == Esrch ? false : throw new IOException($"kill({pid}, {signal}) failed: errno {errno}");
    }

    /// <summary>
    /// Puts the terminal on standard input in raw mode (no echo, no line editing, no signals from Ctrl-C: every key goes
    /// to the remote program as typed) and returns what restores it; null when standard input is no terminal.
    /// </summary>
    public static IDisposable? EnterRawMode()
    {
        var saved = new byte[TermiosBufferSize];
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() || TcGetAttr(0, saved) != 0)
        {
            return null;
        }

        var raw = (byte[])saved.Clone();
        CfMakeRaw(raw);
        return TcSetAttr(0, TcsaNow, raw) == 0 ? new Restore(saved) : null;
    }

    /// <summary>The effective user id of this process (0: root).</summary>
    public static uint EffectiveUserId() => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? GetEuid() : uint.MaxValue;

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "tcgetattr", SetLastError = true)]
    private static partial int TcGetAttr(int fd, [Out] byte[] termios);

    [LibraryImport("libc", EntryPoint = "tcsetattr", SetLastError = true)]
    private static partial int TcSetAttr(int fd, int optionalActions, [In] byte[] termios);

    [LibraryImport("libc", EntryPoint = "cfmakeraw")]
    private static partial void CfMakeRaw([In, Out] byte[] termios);

    private sealed class Restore(byte[] saved) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                _ = TcSetAttr(0, TcsaNow, saved);
            }
        }
    }
}
