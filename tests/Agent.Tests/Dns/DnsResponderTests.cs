using System.Net;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;
using Berth.Agent.Dns;

namespace Berth.Agent.Tests.Dns;

public sealed class DnsResponderTests
{
    private static readonly ServiceDiscoverySpec s_records = new(
        ["apps"],
        [
            new ServiceRecordSet("web.apps", ServiceRecordKind.A, null, [IPAddress.Parse("10.240.1.2"), IPAddress.Parse("10.240.2.3")], []),
            new ServiceRecordSet("legacy.apps", ServiceRecordKind.Srv, TimeSpan.FromSeconds(2),
                [], [new SrvAnswer("t-1.legacy.apps", IPAddress.Parse("10.0.0.11"), 49153, 0, 1)]),
        ]);

    private readonly FakeUpstream _upstream = new();

    [Fact]
    public async Task ServiceName_AnswersItsTasksAddresses_Authoritatively_WithTheShortTtl()
    {
        var response = await AskAsync("web.apps", RecordType.A);

        Assert.Equal(ReturnCode.NoError, response.ReturnCode);
        Assert.True(response.IsAuthoritiveAnswer);
        Assert.Equal(["10.240.1.2", "10.240.2.3"], response.AnswerRecords.OfType<ARecord>().Select(a => a.Address.ToString()));
        Assert.All(response.AnswerRecords, r => Assert.Equal(5, r.TimeToLive));
        Assert.Empty(_upstream.Asked);
    }

    [Fact]
    public async Task Srv_CarriesHostPorts_AndTheTargetsAddressAlongside()
    {
        var response = await AskAsync("legacy.apps", RecordType.Srv);

        var srv = Assert.Single(response.AnswerRecords.OfType<SrvRecord>());
        Assert.Equal((49153, "t-1.legacy.apps", 2), (srv.Port, srv.Target.ToString().TrimEnd('.'), srv.TimeToLive));
        Assert.Equal("10.0.0.11", Assert.Single(response.AdditionalRecords.OfType<ARecord>()).Address.ToString());

        // The target name resolves by itself too.
        var target = await AskAsync("T-1.Legacy.Apps.", RecordType.A);
        Assert.Equal("10.0.0.11", Assert.Single(target.AnswerRecords.OfType<ARecord>()).Address.ToString());
    }

    [Fact]
    public async Task UnknownNameInsideANamespace_IsNxDomain_WithoutAskingUpstream()
    {
        var response = await AskAsync("gone.apps", RecordType.A);

        Assert.Equal(ReturnCode.NxDomain, response.ReturnCode);
        Assert.True(response.IsAuthoritiveAnswer);
        Assert.Empty(_upstream.Asked);
    }

    [Fact]
    public async Task OtherTypeOfAKnownName_IsNoData()
    {
        var response = await AskAsync("web.apps", RecordType.Aaaa);

        Assert.Equal(ReturnCode.NoError, response.ReturnCode);
        Assert.Empty(response.AnswerRecords);
    }

    [Fact]
    public async Task OtherNames_AreForwardedToTheHostsResolver_AndItsAnswerRelayed()
    {
        var upstream = new DnsMessage { ReturnCode = ReturnCode.NoError };
        upstream.AnswerRecords.Add(new ARecord(DomainName.Parse("registry.example"), 300, IPAddress.Parse("192.0.2.10")));
        _upstream.Answer = upstream;

        var response = await AskAsync("registry.example", RecordType.A);

        Assert.Equal(("registry.example", RecordType.A), Assert.Single(_upstream.Asked));
        Assert.False(response.IsAuthoritiveAnswer);
        Assert.Equal("192.0.2.10", Assert.Single(response.AnswerRecords.OfType<ARecord>()).Address.ToString());
    }

    [Fact]
    public async Task NoUpstreamAnswer_IsServFail()
    {
        var response = await AskAsync("registry.example", RecordType.A);

        Assert.Equal(ReturnCode.ServerFailure, response.ReturnCode);
    }

    [Fact]
    public void ResolvConf_NameserversAreRead()
    {
        var servers = DnsUpstream.ParseResolvConf("# generated\nsearch lab\nnameserver 10.255.255.53\nnameserver  192.0.2.1 \nnameserver bogus\noptions ndots:1\n");

        Assert.Equal(["10.255.255.53", "192.0.2.1"], servers.Select(s => s.ToString()));
    }

    private async Task<DnsMessage> AskAsync(string name, RecordType type)
    {
        var query = new DnsMessage { IsQuery = true, IsRecursionDesired = true, TransactionID = 7 };
        query.Questions.Add(new DnsQuestion(DomainName.Parse(name), type, RecordClass.INet));
        return await new DnsResponder(() => s_records, _upstream, TimeSpan.FromSeconds(5)).AnswerAsync(query, CancellationToken.None);
    }

    private sealed class FakeUpstream : IDnsUpstream
    {
        public List<(string Name, RecordType Type)> Asked { get; } = [];

        public DnsMessage? Answer { get; set; }

        public Task<DnsMessage?> ResolveAsync(DomainName name, RecordType type, RecordClass recordClass, CancellationToken cancellationToken)
        {
            Asked.Add((name.ToString().TrimEnd('.'), type));
            return Task.FromResult(Answer);
        }
    }
}
