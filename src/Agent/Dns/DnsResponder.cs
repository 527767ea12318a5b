using System.Net;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;

namespace Berth.Agent.Dns;

/// <summary>Resolves names outside the service discovery namespaces (the host's resolvers).</summary>
internal interface IDnsUpstream
{
    /// <summary>The upstream's answer, or null when no resolver answered in time.</summary>
    Task<DnsMessage?> ResolveAsync(DomainName name, RecordType type, RecordClass recordClass, CancellationToken cancellationToken);
}

/// <summary>
/// Answers one DNS query: names of the service discovery records and namespaces authoritatively (A records of awsvpc
/// tasks, SRV records with host ports of bridge tasks, NXDOMAIN for an unknown name inside a namespace), anything else
/// by asking the host's resolvers and relaying their answer.
/// </summary>
internal sealed class DnsResponder(Func<ServiceDiscoverySpec> records, IDnsUpstream upstream, TimeSpan defaultTtl)
{
    public async Task<DnsMessage> AnswerAsync(DnsMessage query, CancellationToken cancellationToken)
    {
        var response = query.CreateResponseInstance();
        response.IsRecursionAllowed = true;
        if (query.OperationCode != OperationCode.Query || query.Questions.Count != 1)
        {
            response.ReturnCode = query.OperationCode == OperationCode.Query ? ReturnCode.FormatError : ReturnCode.NotImplemented;
            return response;
        }

        var question = query.Questions[0];
        var spec = records();
        var name = question.Name.ToString();
        if (spec.IsAuthoritativeFor(name))
        {
            response.IsAuthoritiveAnswer = true;
            var sets = spec.Lookup(name);
            response.ReturnCode = sets.Count == 0 ? ReturnCode.NxDomain : ReturnCode.NoError;
            if (question.RecordClass is RecordClass.INet or RecordClass.Any)
            {
                AddAnswers(response, question, sets);
            }

            return response;
        }

        var forwarded = await upstream.ResolveAsync(question.Name, question.RecordType, question.RecordClass, cancellationToken);
        if (forwarded is null)
        {
            response.ReturnCode = ReturnCode.ServerFailure;
            return response;
        }

        response.ReturnCode = forwarded.ReturnCode;
        response.AnswerRecords.AddRange(forwarded.AnswerRecords);
        response.AuthorityRecords.AddRange(forwarded.AuthorityRecords);
        response.AdditionalRecords.AddRange(forwarded.AdditionalRecords.Where(r => r.RecordType != RecordType.Opt));
        return response;
    }

    private void AddAnswers(DnsMessage response, DnsQuestion question, IReadOnlyList<ServiceRecordSet> sets)
    {
        var wantA = question.RecordType is RecordType.A or RecordType.Any;
        var wantSrv = question.RecordType is RecordType.Srv or RecordType.Any;
        foreach (var set in sets)
        {
            var ttl = (int)(set.Ttl ?? defaultTtl).TotalSeconds;
            if (set.Kind == ServiceRecordKind.A && wantA)
            {
                response.AnswerRecords.AddRange(set.Addresses.Select(a => new ARecord(question.Name, ttl, a)));
            }

            if (set.Kind == ServiceRecordKind.Srv && wantSrv)
            {
                foreach (var target in set.Srv)
                {
                    var targetName = DomainName.Parse(ServiceDiscoverySpec.Normalize(target.Target));
                    response.AnswerRecords.Add(new SrvRecord(question.Name, ttl, (ushort)target.Priority, (ushort)target.Weight, (ushort)target.Port, targetName));
                    response.AdditionalRecords.Add(new ARecord(targetName, ttl, target.Address));
                }
            }
        }
    }
}

/// <summary>Forwards to the host's resolvers (ARSoft's client: UDP, TCP on truncation, one resolver after another).</summary>
internal sealed class DnsUpstream(IReadOnlyList<IPAddress> servers, TimeSpan timeout) : IDnsUpstream
{
    private readonly DnsClient? _client = servers.Count == 0 ? null : new DnsClient(servers, (int)timeout.TotalMilliseconds);

    public IReadOnlyList<IPAddress> Servers => servers;

    public async Task<DnsMessage?> ResolveAsync(DomainName name, RecordType type, RecordClass recordClass, CancellationToken cancellationToken)
    {
        if (_client is null)
        {
            return null;
        }

        return await _client.ResolveAsync(name, type, recordClass, new DnsQueryOptions { IsRecursionDesired = true, IsEDnsEnabled = true }, cancellationToken);
    }

    /// <summary>The <c>nameserver</c> lines of a resolv.conf.</summary>
    public static IReadOnlyList<IPAddress> ParseResolvConf(string text) =>
        text.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.StartsWith("nameserver", StringComparison.Ordinal))
            .Select(l => l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length >= 2 && IPAddress.TryParse(p[1], out _))
            .Select(p => IPAddress.Parse(p[1]))
            .ToList();
}
