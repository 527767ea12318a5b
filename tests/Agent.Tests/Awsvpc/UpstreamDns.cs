using System.Collections.Concurrent;
using System.Net;
using ARSoft.Tools.Net.Dns;

namespace Berth.Agent.Tests.Awsvpc;

/// <summary>
/// A resolver on the lab's root leg standing in for a host's own (this machine has no outside DNS): it answers
/// <c>outside.example</c> with 192.0.2.77 and records every name it is asked, so a test sees what the agents forwarded.
/// </summary>
internal sealed class UpstreamDns : IDisposable
{
    public const string Name = "outside.example";
    public const string Answer = "192.0.2.77";

    private readonly DnsServer _server;

    public UpstreamDns(string address)
    {
        Address = address;
        var endpoint = new IPEndPoint(IPAddress.Parse(address), 53);
        _server = new DnsServer([new UdpServerTransport(endpoint, 2000), new TcpServerTransport(endpoint, 2000, 2000)]);
        _server.QueryReceived += (_, e) =>
        {
            if (e.Query is DnsMessage query && query.Questions.Count == 1)
            {
                var question = query.Questions[0];
                var name = question.Name.ToString().TrimEnd('.');
                Asked.Add(name);
                var response = query.CreateResponseInstance();
                response.ReturnCode = string.Equals(name, Name, StringComparison.OrdinalIgnoreCase) ? ReturnCode.NoError : ReturnCode.NxDomain;
                if (response.ReturnCode == ReturnCode.NoError && question.RecordType == RecordType.A)
                {
                    response.AnswerRecords.Add(new ARecord(question.Name, 60, IPAddress.Parse(Answer)));
                }

                e.Response = response;
            }

            return Task.CompletedTask;
        };
        _server.Start();
    }

    public string Address { get; }

    public ConcurrentBag<string> Asked { get; } = [];

    public void Dispose() => _server.Stop();
}
