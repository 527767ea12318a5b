using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Berth.LoadBalancer.Relay.Loops;

/// <summary>Linux's epoll and eventfd, as the relay's event loops use them.</summary>
internal static unsafe partial class Epoll
{
    public const uint In = 0x001;
    public const uint Out = 0x004;
    public const uint Err = 0x008;
    public const uint Hup = 0x010;
    public const uint RdHup = 0x2000;
    public const uint EdgeTriggered = 1u << 31;

    private const int CtlAdd = 1;
    private const int CtlDel = 2;
    private const int CloExec = 0x80000;
    private const int NonBlock = 0x800;

    /// <summary>
    /// The size of a struct epoll_event: a 32-bit event mask and 64-bit user data, packed on x86 (12 bytes: the data at
    /// offset 4), naturally aligned elsewhere (16 bytes: at offset 8).
    /// </summary>
    public static readonly int EventSize = Packed ? 12 : 16;

    private static readonly int s_dataOffset = Packed ? 4 : 8;

    private static bool Packed => RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;

    /// <summary>The event mask of the <paramref name="index"/>th event <see cref="Wait"/> returned.</summary>
    public static uint EventsAt(byte* events, int index) => Unsafe.ReadUnaligned<uint>(events + (index * EventSize));

    /// <summary>The user data of the <paramref name="index"/>th event <see cref="Wait"/> returned.</summary>
    public static ulong DataAt(byte* events, int index) => Unsafe.ReadUnaligned<ulong>(events + (index * EventSize) + s_dataOffset);

    public static int Create() => Check(epoll_create1(CloExec));

    public static void Add(int epoll, int fd, uint events, ulong data)
    {
        var e = stackalloc byte[16];
        Unsafe.WriteUnaligned(e, events);
        Unsafe.WriteUnaligned(e + s_dataOffset, data);
        Check(epoll_ctl(epoll, CtlAdd, fd, e));
    }

    public static void Remove(int epoll, int fd) => epoll_ctl(epoll, CtlDel, fd, null);

    /// <summary>Waits for events into <paramref name="events"/> (room for <paramref name="max"/> of <see cref="EventSize"/> bytes).</summary>
    public static int Wait(int epoll, byte* events, int max, int timeoutMs)
    {
        var n = epoll_wait(epoll, events, max, timeoutMs);
        return n >= 0 || Marshal.GetLastPInvokeError() == 4 /* EINTR */ ? Math.Max(n, 0) : Check(n);
    }

    public static int CreateEventFd() => Check(eventfd(0, CloExec | NonBlock));

    public static void Signal(int eventFd)
    {
        ulong one = 1;
        _ = write(eventFd, &one, 8);
    }

    public static void Drain(int eventFd)
    {
        ulong value;
        _ = read(eventFd, &value, 8);
    }

    public static void Close(int fd) => _ = close(fd);

    private static int Check(int result) =>
        result >= 0 ? result : throw new System.ComponentModel.Win32Exception(Marshal.GetLastPInvokeError());

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_ctl(int epfd, int op, int fd, byte* ev);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_wait(int epfd, byte* events, int maxevents, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int eventfd(uint initval, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, void* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, void* buf, nint count);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
