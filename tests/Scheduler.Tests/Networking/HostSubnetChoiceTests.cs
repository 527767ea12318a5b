using Berth.Core.Networking;
using Berth.Scheduler.Networking;

namespace Berth.Scheduler.Tests.Networking;

/// <summary>
/// <see cref="HostNetworks.FreeSubnet"/>: which task subnet a connecting host gets. Checked against the plain definition
/// (the first candidate no used block overlaps) on random layouts, and at the sizes a large cluster meets.
/// </summary>
public sealed class HostSubnetChoiceTests
{
    private static readonly Ipv4Cidr Cluster = Ipv4Cidr.Parse("10.240.0.0/16");

    /// <summary>The definition, one overlap test per candidate and used block.</summary>
    private static Ipv4Cidr? FirstFreeByDefinition(Ipv4Cidr cidr, int prefix, IReadOnlyCollection<Ipv4Cidr> used)
    {
        for (long i = 0; i < cidr.SubnetCount(prefix); i++)
        {
            var candidate = cidr.Subnet(prefix, i);
            if (!used.Any(u => u.Overlaps(candidate)))
            {
                return candidate;
            }
        }

        return null;
    }

    [Fact]
    public void RandomLayouts_AgreeWithTheDefinition()
    {
        var random = new Random(17);
        var cidr = Ipv4Cidr.Parse("10.50.0.0/20");
        for (var round = 0; round < 3_000; round++)
        {
            var prefix = random.Next(20, 29);
            var used = new List<Ipv4Cidr>();
            for (var n = random.Next(0, 24); n > 0; n--)
            {
                // Blocks of every size around the subnet size, mostly inside the CIDR, some beside it, rarely around it.
                var length = random.Next(14, 31);
                var network = random.Next(10) == 0 ? 0x0A310000u + (uint)random.Next(0, 1 << 20) : 0x0A320000u + (uint)random.Next(0, 1 << 12);
                used.Add(new Ipv4Cidr(network & (uint.MaxValue << (32 - length)), length));
            }

            Assert.Equal(FirstFreeByDefinition(cidr, prefix, used), HostNetworks.FreeSubnet(cidr, prefix, used));
        }
    }

    [Fact]
    public void AFullCidr_GivesNone_AndTheOneLeftIsFound()
    {
        var all = Enumerable.Range(0, 256).Select(i => Cluster.Subnet(24, i)).ToList();
        var allButOne = all.Where(s => s != Cluster.Subnet(24, 201)).ToList();

        Assert.Null(HostNetworks.FreeSubnet(Cluster, 24, all));
        Assert.Equal("10.240.201.0/24", HostNetworks.FreeSubnet(Cluster, 24, allButOne).ToString());
        Assert.Equal("10.240.0.0/24", HostNetworks.FreeSubnet(Cluster, 24, []).ToString());
    }

    [Fact]
    public void ABlockAroundTheCidr_TakesAll_AndSubnetsLargerThanTheCidrDoNotExist()
    {
        Assert.Null(HostNetworks.FreeSubnet(Cluster, 24, [Ipv4Cidr.Parse("10.0.0.0/8")]));
        Assert.Null(HostNetworks.FreeSubnet(Cluster, 12, []));
    }

    [Fact]
    public void ThousandsOfHostsAskingInAFullCidr_TakeLinearTime()
    {
        // 10,000 hosts of one cluster reconnecting after a restart, 256 of them holding the /24s: each of the 9,744 others
        // asks once. Walking every candidate against every holder costs 256 x 10,000 overlap tests per ask (25 billion in
        // all); marking the holders' indexes costs 10,000 set inserts per ask. The count is the test, not the clock.
        var holders = Enumerable.Range(0, 256).Select(i => Cluster.Subnet(24, i)).ToList();
        var asked = 0;
        var counting = new CountingCollection(holders, () => asked++);

        Assert.Null(HostNetworks.FreeSubnet(Cluster, 24, counting));
        Assert.Equal(256, asked);
    }

    /// <summary>A used list that counts how often its blocks are enumerated.</summary>
    private sealed class CountingCollection(List<Ipv4Cidr> items, Action onItem) : IReadOnlyCollection<Ipv4Cidr>
    {
        public int Count => items.Count;

        public IEnumerator<Ipv4Cidr> GetEnumerator()
        {
            foreach (var item in items)
            {
                onItem();
                yield return item;
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
