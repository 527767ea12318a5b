namespace Berth.Scheduler.LoadBalancing;

/// <summary>
/// ELB's predefined TLS security policies for HTTPS listeners, by name. Berth maps each to the TLS versions it allows
/// (ciphers are the platform's: .NET on OpenSSL chooses them); the balancer maps the same names to Kestrel's
/// <c>SslProtocols</c>. The scheduler accepts exactly the names the balancer knows, so a configuration it accepted is
/// never refused by a balancer.
/// </summary>
internal static class SslPolicies
{
    /// <summary>ELB's default for a listener created through the API.</summary>
    public const string Default = "ELBSecurityPolicy-2016-08";

    /// <summary>The known names (ELB's) with the lowest and highest TLS version each allows ("1.0" .. "1.3").</summary>
    public static readonly IReadOnlyDictionary<string, (string Min, string Max)> Known = new Dictionary<string, (string, string)>(StringComparer.Ordinal)
    {
        ["ELBSecurityPolicy-2016-08"] = ("1.0", "1.2"),
        ["ELBSecurityPolicy-2015-05"] = ("1.0", "1.2"),
        ["ELBSecurityPolicy-TLS-1-0-2015-04"] = ("1.0", "1.2"),
        ["ELBSecurityPolicy-TLS-1-1-2017-01"] = ("1.1", "1.2"),
        ["ELBSecurityPolicy-TLS-1-2-2017-01"] = ("1.2", "1.2"),
        ["ELBSecurityPolicy-TLS-1-2-Ext-2018-06"] = ("1.2", "1.2"),
        ["ELBSecurityPolicy-FS-2018-06"] = ("1.0", "1.2"),
        ["ELBSecurityPolicy-FS-1-1-2019-08"] = ("1.1", "1.2"),
        ["ELBSecurityPolicy-FS-1-2-2019-08"] = ("1.2", "1.2"),
        ["ELBSecurityPolicy-FS-1-2-Res-2019-08"] = ("1.2", "1.2"),
        ["ELBSecurityPolicy-FS-1-2-Res-2020-10"] = ("1.2", "1.2"),
        ["ELBSecurityPolicy-TLS13-1-0-2021-06"] = ("1.0", "1.3"),
        ["ELBSecurityPolicy-TLS13-1-1-2021-06"] = ("1.1", "1.3"),
        ["ELBSecurityPolicy-TLS13-1-2-2021-06"] = ("1.2", "1.3"),
        ["ELBSecurityPolicy-TLS13-1-2-Res-2021-06"] = ("1.2", "1.3"),
        ["ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06"] = ("1.2", "1.3"),
        ["ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06"] = ("1.2", "1.3"),
        ["ELBSecurityPolicy-TLS13-1-3-2021-06"] = ("1.3", "1.3"),
    };

    /// <summary>The policy name, or ELB's SSLPolicyNotFound for one it does not have.</summary>
    public static string Check(string field, string name) => Known.ContainsKey(name)
        ? name
        : throw Elb.NotFound("SSLPolicyNotFound", field, $"SSL policy '{Elb.Printable(name)}' not found; use one of ELB's predefined policies, e.g. {Default} or ELBSecurityPolicy-TLS13-1-2-2021-06.");
}
