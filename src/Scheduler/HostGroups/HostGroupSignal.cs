using System.Threading.Channels;

namespace Berth.Scheduler.HostGroups;

/// <summary>Wakes the <see cref="HostGroupReconciler"/> for a pass now (a group changed), besides its timer.</summary>
internal sealed class HostGroupSignal
{
    // One pending wake is enough: a pass looks at every group.
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Wake() => _wake.Writer.TryWrite(true);

    public ValueTask<bool> WaitAsync(CancellationToken cancellationToken) => _wake.Reader.ReadAsync(cancellationToken);
}
