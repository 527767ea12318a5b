using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.LoadBalancing;

/// <summary>
/// ELBv2's API on the kernel: load balancers, listeners, rules, target groups and targets, validated with ELB's error
/// names, changed only through cluster transactions. A load balancer and the target groups it forwards to live in one
/// cluster (the one whose services register targets); names and ARNs are account-wide, as in ELB, through the
/// kernel's load-balancing index. Answers are projected by the edge under the same lock as the change.
/// </summary>
internal sealed class LoadBalancingHandler(StateKernel kernel)
{
    private const string ArnPrefix = "arn:berth:elasticloadbalancing:local:000000000000:";

    /// <summary>How long a replica's reports count after it was last heard (ELB: replicas that watched in the last minute).</summary>
    public static readonly TimeSpan ReplicaMemory = TimeSpan.FromMinutes(1);

    private static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    /// <summary>ELB's quota of listeners per load balancer (the balancer names HTTPS endpoints in as many slots).</summary>
    public const int MaxListeners = 50;

    /// <summary>ELB's quota of certificates per listener besides the default one.</summary>
    public const int MaxSniCertificates = 25;

    private static string Kind(BalancerType type) => type == BalancerType.Network ? "net" : "app";

    // ---- load balancers ---------------------------------------------------------------------------------------

    public Task<T> CreateLoadBalancerAsync<T>(string name, BalancerType type, string scheme, string cluster, int? idleTimeout, Func<LoadBalancerRecord, LoadBalancingState, T> view)
    {
        Elb.Name("name", name, loadBalancer: true);
        if (idleTimeout is { } idle)
        {
            Elb.Range("idle_timeout_seconds", idle, 1, 4000);
        }

        cluster = Arns.ClusterName(cluster);
        return kernel.CommitAsync(cluster, tx =>
        {
            tx.Cluster.RequireActive();
            var key = LoadBalancingKeys.LoadBalancerName(name);
            if (!kernel.ClaimLoadBalancing(key, cluster))
            {
                throw Elb.Error(StateError.AlreadyExists, "DuplicateLoadBalancerName", "name", $"a load balancer named '{name}' exists.");
            }

            var id = NewId();
            var record = new LoadBalancerRecord
            {
                Arn = $"{ArnPrefix}loadbalancer/{Kind(type)}/{name}/{id}",
                Cluster = cluster,
                Name = name,
                Id = id,
                Type = type,
                Scheme = scheme,
                IdleTimeoutSeconds = idleTimeout ?? 60,
                CreatedAt = tx.Now,
            };
            kernel.ClaimLoadBalancing(record.Arn, cluster);
            tx.PutLoadBalancing(record);
            return view(record, tx.Cluster.LoadBalancing);
        }, create: false);
    }

    public List<T> DescribeLoadBalancers<T>(IReadOnlyList<string> arns, IReadOnlyList<string> names, Func<LoadBalancerRecord, LoadBalancingState, T> view)
    {
        var result = new List<T>();
        if (arns.Count == 0 && names.Count == 0)
        {
            foreach (var cluster in kernel.ClusterNames.Order(StringComparer.Ordinal))
            {
                kernel.ReadCluster(cluster, state =>
                {
                    foreach (var lb in state?.LoadBalancing.LoadBalancers.Values.OrderBy(l => l.Name, StringComparer.Ordinal) ?? Enumerable.Empty<LoadBalancerRecord>())
                    {
                        result.Add(view(lb, state!.LoadBalancing));
                    }

                    return 0;
                });
            }

            return result;
        }

        foreach (var (reference, field) in arns.Select(a => (a, "load_balancer_arns")).Concat(names.Select(n => (n, "names"))))
        {
            result.Add(ReadLoadBalancer(reference, field, (lb, state) => view(lb, state.LoadBalancing)));
        }

        return result;
    }

    public Task DeleteLoadBalancerAsync(string reference)
    {
        if (FindCluster(reference, LoadBalancingKeys.LoadBalancerName) is not { } cluster)
        {
            return Task.CompletedTask; // ELB: deleting what is not there succeeds.
        }

        return kernel.CommitAsync(cluster, tx =>
        {
            var lbs = tx.Cluster.LoadBalancing;
            if (FindLoadBalancer(lbs, reference) is not { } lb)
            {
                return 0;
            }

            foreach (var listener in lbs.Listeners.Values.Where(l => l.LoadBalancerArn == lb.Arn).ToList())
            {
                RemoveListener(tx, listener);
            }

            tx.RemoveLoadBalancing(lb.Arn);
            lbs.Replicas.Remove(lb.Arn);
            kernel.ReleaseLoadBalancing(lb.Arn);
            kernel.ReleaseLoadBalancing(LoadBalancingKeys.LoadBalancerName(lb.Name));
            return 0;
        });
    }

    /// <summary>
    /// Makes a balancer credential for a load balancer (<c>bbc.&lt;load balancer id&gt;.&lt;secret&gt;</c>); only its
    /// SHA-256 is stored. It may watch that load balancer and report on its targets, nothing else.
    /// </summary>
    public Task<string> CreateCredentialAsync(string reference)
    {
        var cluster = FindCluster(reference, LoadBalancingKeys.LoadBalancerName)
            ?? throw Elb.NotFound("LoadBalancerNotFound", "load_balancer_arn", $"load balancer '{Elb.Printable(reference)}' not found.");
        return kernel.CommitAsync(cluster, tx =>
        {
            var lb = FindLoadBalancer(tx.Cluster.LoadBalancing, reference)
                ?? throw Elb.NotFound("LoadBalancerNotFound", "load_balancer_arn", $"load balancer '{Elb.Printable(reference)}' not found.");
            var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            lb.CredentialHashes.Add(Hash(secret));
            tx.Save(lb);
            return $"bbc.{lb.Id}.{secret}";
        });
    }

    /// <summary>The load balancer ARN a balancer credential is for, or null when it is not a valid one.</summary>
    public string? AuthenticateCredential(string credential)
    {
        var parts = credential.Split('.');
        if (parts is not ["bbc", var id, var secret] || id.Length != 16)
        {
            return null;
        }

        var hash = Hash(secret);
        foreach (var cluster in kernel.ClusterNames)
        {
            var found = kernel.ReadCluster(cluster, state =>
            {
                foreach (var lb in state?.LoadBalancing.LoadBalancers.Values ?? Enumerable.Empty<LoadBalancerRecord>())
                {
                    if (lb.Id == id && lb.CredentialHashes.Any(h => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(h), Encoding.ASCII.GetBytes(hash))))
                    {
                        return lb.Arn;
                    }
                }

                return null;
            });
            if (found is not null)
            {
                return found;
            }
        }

        return null;
    }

    private static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    // ---- listeners --------------------------------------------------------------------------------------------

    public Task<T> CreateListenerAsync<T>(ListenerCommand command, Func<ListenerRecord, T> view)
    {
        Elb.Port("port", command.Port ?? 0);
        var action = SingleAction("default_actions", command.DefaultActions);
        var cluster = FindCluster(command.LoadBalancer, LoadBalancingKeys.LoadBalancerName)
            ?? throw Elb.NotFound("LoadBalancerNotFound", "load_balancer_arn", $"load balancer '{Elb.Printable(command.LoadBalancer)}' not found.");
        return kernel.CommitAsync(cluster, tx =>
        {
            var lbs = tx.Cluster.LoadBalancing;
            var lb = FindLoadBalancer(lbs, command.LoadBalancer)
                ?? throw Elb.NotFound("LoadBalancerNotFound", "load_balancer_arn", $"load balancer '{Elb.Printable(command.LoadBalancer)}' not found.");
            var protocol = command.Protocol ?? throw Elb.Validation("protocol", "is required (HTTP, HTTPS or TCP).");
            CheckListenerProtocol(lb, protocol, command.Certificates);
            var https = protocol == ListenerProtocolKind.Https;
            var sslPolicy = TlsPolicy(https, command.SslPolicy, "");
            if (lbs.Listeners.Values.Any(l => l.LoadBalancerArn == lb.Arn && l.Port == command.Port))
            {
                throw Elb.Error(StateError.AlreadyExists, "DuplicateListener", "port", $"load balancer '{lb.Name}' has a listener on port {command.Port}.");
            }

            if (lbs.Listeners.Values.Count(l => l.LoadBalancerArn == lb.Arn) >= MaxListeners)
            {
                throw Elb.Error(StateError.FailedPrecondition, "TooManyListeners", "load_balancer_arn", $"a load balancer takes at most {MaxListeners} listeners.");
            }

            action = CheckForward(lbs, "default_actions[0]", action, protocol);
            var listener = new ListenerRecord
            {
                Arn = $"{ArnPrefix}listener/{Kind(lb.Type)}/{lb.Name}/{lb.Id}/{NewId()}",
                Cluster = lb.Cluster,
                LoadBalancerArn = lb.Arn,
                Port = command.Port!.Value,
                Protocol = protocol,
                Certificates = command.Certificates,
                SslPolicy = sslPolicy,
                AlpnPolicy = https ? (command.AlpnPolicy is { Length: > 0 } a ? a : "HTTP2Preferred") : "",
                DefaultAction = action,
            };
            // Last, after every other check: the claim is the change that makes the certificates in use.
            ClaimCertificates(listener.Arn, listener.AllCertificates(), "certificates[0].certificate_arn");
            kernel.ClaimLoadBalancing(listener.Arn, lb.Cluster);
            tx.PutLoadBalancing(listener);
            return view(listener);
        });
    }

    public List<T> DescribeListeners<T>(string loadBalancer, IReadOnlyList<string> arns, Func<ListenerRecord, T> view)
    {
        if (arns.Count > 0)
        {
            return [.. arns.Select(arn => ReadListener(arn, "listener_arns", (l, _) => view(l)))];
        }

        if (string.IsNullOrEmpty(loadBalancer))
        {
            throw Elb.Validation("load_balancer_arn", "give a load balancer or listener ARNs.");
        }

        return ReadLoadBalancer(loadBalancer, "load_balancer_arn", (lb, state) =>
            state.LoadBalancing.Listeners.Values.Where(l => l.LoadBalancerArn == lb.Arn).OrderBy(l => l.Port).Select(view).ToList());
    }

    public Task<T> ModifyListenerAsync<T>(string arn, ListenerCommand command, Func<ListenerRecord, T> view)
    {
        if (command.Port is { } port)
        {
            Elb.Port("port", port);
        }

        var action = command.DefaultActions.Count > 0 ? SingleAction("default_actions", command.DefaultActions) : null;
        return CommitListener(arn, "listener_arn", (tx, listener) =>
        {
            var lbs = tx.Cluster.LoadBalancing;
            var lb = lbs.LoadBalancers[listener.LoadBalancerArn];
            var protocol = command.Protocol ?? listener.Protocol;
            var https = protocol == ListenerProtocolKind.Https;
            // A listener that stops being HTTPS drops its certificates; one that stays keeps them unless new ones are given.
            var certificates = !command.Certificates.IsEmpty ? command.Certificates : https ? listener.Certificates : [];
            CheckListenerProtocol(lb, protocol, certificates);
            var sslPolicy = TlsPolicy(https, command.SslPolicy, listener.SslPolicy);
            // SNI certificates stay with an HTTPS listener; one that became the default is no longer an SNI one.
            ImmutableArray<string> sni = https ? [.. listener.SniCertificates.Except(certificates, StringComparer.Ordinal)] : [];
            var newPort = command.Port ?? listener.Port;
            if (lbs.Listeners.Values.Any(l => l.LoadBalancerArn == lb.Arn && l.Port == newPort && l.Arn != listener.Arn))
            {
                throw Elb.Error(StateError.AlreadyExists, "DuplicateListener", "port", $"load balancer '{lb.Name}' has a listener on port {newPort}.");
            }

            var newAction = CheckForward(lbs, "default_actions[0]", action ?? listener.DefaultAction, protocol);
            if (protocol == ListenerProtocolKind.Tcp && lbs.Rules.Values.Any(r => r.ListenerArn == listener.Arn))
            {
                throw Elb.Validation("protocol", "a listener with rules cannot become TCP.");
            }

            ClaimCertificates(listener.Arn, [.. certificates, .. sni], "certificates[0].certificate_arn");
            listener.Port = newPort;
            listener.Protocol = protocol;
            listener.Certificates = certificates;
            listener.SniCertificates = sni;
            listener.DefaultAction = newAction;
            listener.SslPolicy = sslPolicy;
            listener.AlpnPolicy = !https ? "" : command.AlpnPolicy is { Length: > 0 } alpn ? alpn : listener.AlpnPolicy is { Length: > 0 } kept ? kept : "HTTP2Preferred";

            tx.PutLoadBalancing(listener);
            return view(listener);
        });
    }

    public Task DeleteListenerAsync(string arn) => CommitListener(arn, "listener_arn", (tx, listener) =>
    {
        RemoveListener(tx, listener);
        return 0;
    });

    private void RemoveListener(ClusterTransaction tx, ListenerRecord listener)
    {
        foreach (var rule in tx.Cluster.LoadBalancing.Rules.Values.Where(r => r.ListenerArn == listener.Arn).ToList())
        {
            tx.RemoveLoadBalancing(rule.Arn);
            kernel.ReleaseLoadBalancing(rule.Arn);
        }

        tx.RemoveLoadBalancing(listener.Arn);
        kernel.ReleaseLoadBalancing(listener.Arn);
        kernel.Certificates.Claim(listener.Arn, []);
    }

    // ---- listener certificates (SNI) ----------------------------------------------------------------------------

    /// <summary>ELB AddListenerCertificates: more certificates for SNI on an HTTPS listener; ones it has are no-ops.</summary>
    public Task<List<string>> AddListenerCertificatesAsync(string arn, IReadOnlyList<string> certificates)
    {
        if (certificates.Count == 0)
        {
            throw Elb.Validation("certificates", "give at least one certificate.");
        }

        return CommitListener(arn, "listener_arn", (tx, listener) =>
        {
            RequireHttps(listener);
            var sni = listener.SniCertificates.Union(certificates.Where(c => !listener.Certificates.Contains(c)), StringComparer.Ordinal).ToList();
            if (sni.Count > MaxSniCertificates)
            {
                throw Elb.Error(StateError.FailedPrecondition, "TooManyCertificates", "certificates", $"a listener takes at most {MaxSniCertificates} certificates besides its default one.");
            }

            ClaimCertificates(listener.Arn, [.. listener.Certificates, .. sni], "certificates");
            listener.SniCertificates = [.. sni];
            tx.PutLoadBalancing(listener);
            return certificates.Distinct(StringComparer.Ordinal).ToList();
        });
    }

    /// <summary>ELB RemoveListenerCertificates: SNI certificates off a listener; the default one cannot be removed.</summary>
    public Task RemoveListenerCertificatesAsync(string arn, IReadOnlyList<string> certificates)
    {
        if (certificates.Count == 0)
        {
            throw Elb.Validation("certificates", "give at least one certificate.");
        }

        return CommitListener(arn, "listener_arn", (tx, listener) =>
        {
            if (certificates.FirstOrDefault(listener.Certificates.Contains) is { } defaultCertificate)
            {
                throw Elb.Error(StateError.FailedPrecondition, "OperationNotPermitted", "certificates",
                    $"certificate '{defaultCertificate}' is the listener's default certificate; replace it with ModifyListener.");
            }

            var sni = listener.SniCertificates.Except(certificates, StringComparer.Ordinal).ToList();
            if (sni.Count != listener.SniCertificates.Length)
            {
                ClaimCertificates(listener.Arn, [.. listener.Certificates, .. sni], "certificates");
                listener.SniCertificates = [.. sni];
                tx.PutLoadBalancing(listener);
            }

            return 0;
        });
    }

    /// <summary>ELB DescribeListenerCertificates: the default certificate (true) first, then the SNI ones.</summary>
    public List<(string Arn, bool IsDefault)> DescribeListenerCertificates(string arn) =>
        ReadListener(arn, "listener_arn", (l, _) => l.Certificates.Select(c => (c, true)).Concat(l.SniCertificates.Select(c => (c, false))).ToList());

    private static void RequireHttps(ListenerRecord listener)
    {
        if (listener.Protocol != ListenerProtocolKind.Https)
        {
            throw Elb.Validation("listener_arn", "only HTTPS listeners take certificates.");
        }
    }

    /// <summary>Gives a listener exactly these certificates in the catalog, or CertificateNotFound naming the first missing one.</summary>
    private void ClaimCertificates(string listenerArn, IReadOnlyCollection<string> certificates, string field)
    {
        if (kernel.Certificates.Claim(listenerArn, certificates) is { } missing)
        {
            throw Elb.NotFound("CertificateNotFound", field, $"certificate '{Elb.Printable(missing)}' not found (import it with ImportCertificate).");
        }
    }

    /// <summary>An HTTPS listener's TLS policy: the one asked for, else the one it had, else ELB's default; none for other protocols.</summary>
    private static string TlsPolicy(bool https, string? asked, string had)
    {
        if (!https)
        {
            return asked is { Length: > 0 } ? throw Elb.Validation("ssl_policy", "only HTTPS listeners take a TLS policy.") : "";
        }

        return SslPolicies.Check("ssl_policy", asked is { Length: > 0 } ? asked : had is { Length: > 0 } ? had : SslPolicies.Default);
    }

    private static void CheckListenerProtocol(LoadBalancerRecord lb, ListenerProtocolKind protocol, ImmutableArray<string> certificates)
    {
        if (lb.Type == BalancerType.Network ? protocol != ListenerProtocolKind.Tcp : protocol == ListenerProtocolKind.Tcp)
        {
            throw Elb.Error(StateError.InvalidArgument, "IncompatibleProtocols", "protocol",
                lb.Type == BalancerType.Network ? "a network load balancer takes TCP listeners." : "an application load balancer takes HTTP and HTTPS listeners.");
        }

        if (protocol == ListenerProtocolKind.Https)
        {
            if (certificates.Length != 1 || string.IsNullOrEmpty(certificates[0]))
            {
                throw Elb.Validation("certificates", "an HTTPS listener takes exactly one (default) certificate, by ARN (ImportCertificate); add more for SNI with AddListenerCertificates.");
            }

            return;
        }

        if (!certificates.IsEmpty)
        {
            throw Elb.Validation("certificates", "only HTTPS listeners take certificates.");
        }
    }

    // ---- rules ------------------------------------------------------------------------------------------------

    public Task<T> CreateRuleAsync<T>(string listenerArn, int priority, IReadOnlyList<ConditionSpec> conditions, IReadOnlyList<ActionSpec> actions, Func<RuleRecord, T> view)
    {
        Elb.Range("priority", priority, 1, 50000);
        Elb.Conditions("conditions", conditions);
        var action = SingleAction("actions", actions);
        return CommitListener(listenerArn, "listener_arn", (tx, listener) =>
        {
            var lbs = tx.Cluster.LoadBalancing;
            if (listener.Protocol == ListenerProtocolKind.Tcp)
            {
                throw Elb.Validation("listener_arn", "TCP listeners take no rules.");
            }

            if (lbs.Rules.Values.Any(r => r.ListenerArn == listener.Arn && r.Priority == priority))
            {
                throw Elb.Error(StateError.FailedPrecondition, "PriorityInUse", "priority", $"priority {priority} is in use on listener {listener.Arn}.");
            }

            if (lbs.Rules.Values.Count(r => r.ListenerArn == listener.Arn) >= 100)
            {
                throw Elb.Error(StateError.FailedPrecondition, "TooManyRules", "listener_arn", "a listener takes at most 100 rules.");
            }

            var resolved = CheckForward(lbs, "actions[0]", action, listener.Protocol);
            var listenerId = listener.Arn[(listener.Arn.LastIndexOf('/') + 1)..];
            var lb = lbs.LoadBalancers[listener.LoadBalancerArn];
            var rule = new RuleRecord
            {
                Arn = $"{ArnPrefix}listener-rule/{Kind(lb.Type)}/{lb.Name}/{lb.Id}/{listenerId}/{NewId()}",
                Cluster = listener.Cluster,
                ListenerArn = listener.Arn,
                Priority = priority,
                Conditions = [.. conditions],
                Action = resolved,
            };
            kernel.ClaimLoadBalancing(rule.Arn, listener.Cluster);
            tx.PutLoadBalancing(rule);
            return view(rule);
        });
    }

    /// <summary>The rules of a listener by priority (the edge adds the default rule), or rules by ARN.</summary>
    public List<T> DescribeRules<T>(string listenerArn, IReadOnlyList<string> ruleArns, Func<RuleRecord?, ListenerRecord, T> view)
    {
        if (ruleArns.Count > 0)
        {
            return [.. ruleArns.Select(arn => ReadRule(arn, "rule_arns", (rule, listener) => view(rule, listener)))];
        }

        if (string.IsNullOrEmpty(listenerArn))
        {
            throw Elb.Validation("listener_arn", "give a listener or rule ARNs.");
        }

        return ReadListener(listenerArn, "listener_arn", (listener, state) =>
        {
            var rules = state.LoadBalancing.Rules.Values.Where(r => r.ListenerArn == listener.Arn).OrderBy(r => r.Priority).Select(r => view(r, listener)).ToList();
            rules.Add(view(null, listener));
            return rules;
        });
    }

    public Task<T> ModifyRuleAsync<T>(string ruleArn, IReadOnlyList<ConditionSpec> conditions, IReadOnlyList<ActionSpec> actions, Func<RuleRecord, T> view)
    {
        if (conditions.Count > 0)
        {
            Elb.Conditions("conditions", conditions);
        }

        var action = actions.Count > 0 ? SingleAction("actions", actions) : null;
        var cluster = FindCluster(ruleArn, null) ?? throw RuleNotFound(ruleArn, "rule_arn");
        return kernel.CommitAsync(cluster, tx =>
        {
            var lbs = tx.Cluster.LoadBalancing;
            var rule = lbs.Rules.GetValueOrDefault(ruleArn) ?? throw RuleNotFound(ruleArn, "rule_arn");
            var listener = lbs.Listeners[rule.ListenerArn];
            if (action is not null)
            {
                rule.Action = CheckForward(lbs, "actions[0]", action, listener.Protocol);
            }

            if (conditions.Count > 0)
            {
                rule.Conditions = [.. conditions];
            }

            tx.PutLoadBalancing(rule);
            return view(rule);
        });
    }

    public Task<List<T>> SetRulePrioritiesAsync<T>(IReadOnlyList<(string Arn, int Priority)> priorities, Func<RuleRecord, T> view)
    {
        if (priorities.Count == 0)
        {
            throw Elb.Validation("rule_priorities", "give at least one rule.");
        }

        for (var i = 0; i < priorities.Count; i++)
        {
            Elb.Range($"rule_priorities[{i}].priority", priorities[i].Priority, 1, 50000);
        }

        var cluster = FindCluster(priorities[0].Arn, null) ?? throw RuleNotFound(priorities[0].Arn, "rule_priorities[0].rule_arn");
        return kernel.CommitAsync(cluster, tx =>
        {
            var lbs = tx.Cluster.LoadBalancing;
            var rules = priorities.Select((p, i) => lbs.Rules.GetValueOrDefault(p.Arn) ?? throw RuleNotFound(p.Arn, $"rule_priorities[{i}].rule_arn")).ToList();
            if (rules.Select(r => r.ListenerArn).Distinct().Count() > 1)
            {
                throw Elb.Validation("rule_priorities", "every rule must belong to the same listener.");
            }

            if (rules.Distinct().Count() != rules.Count)
            {
                throw Elb.Validation("rule_priorities", "a rule appears twice.");
            }

            // All together (swaps allowed): the new priorities with the listener's other rules must not collide.
            var moved = rules.ToHashSet();
            var taken = lbs.Rules.Values.Where(r => r.ListenerArn == rules[0].ListenerArn && !moved.Contains(r)).Select(r => r.Priority).ToHashSet();
            for (var i = 0; i < priorities.Count; i++)
            {
                if (!taken.Add(priorities[i].Priority))
                {
                    throw Elb.Error(StateError.FailedPrecondition, "PriorityInUse", $"rule_priorities[{i}].priority", $"priority {priorities[i].Priority} is in use on listener {rules[0].ListenerArn}.");
                }
            }

            for (var i = 0; i < rules.Count; i++)
            {
                rules[i].Priority = priorities[i].Priority;
                tx.PutLoadBalancing(rules[i]);
            }

            return rules.Select(view).ToList();
        });
    }

    public Task DeleteRuleAsync(string ruleArn)
    {
        if (FindCluster(ruleArn, null) is not { } cluster)
        {
            if (kernel.ClusterOfLoadBalancing(ruleArn) is null && IsListenerArn(ruleArn))
            {
                throw Elb.Error(StateError.FailedPrecondition, "OperationNotPermitted", "rule_arn", "a listener's default rule cannot be deleted.");
            }

            throw RuleNotFound(ruleArn, "rule_arn");
        }

        return kernel.CommitAsync(cluster, tx =>
        {
            if (!tx.Cluster.LoadBalancing.Rules.ContainsKey(ruleArn))
            {
                throw RuleNotFound(ruleArn, "rule_arn");
            }

            tx.RemoveLoadBalancing(ruleArn);
            kernel.ReleaseLoadBalancing(ruleArn);
            return 0;
        });
    }

    private static bool IsListenerArn(string arn) => arn.StartsWith(ArnPrefix + "listener/", StringComparison.Ordinal);

    private static StateException RuleNotFound(string arn, string field) => Elb.NotFound("RuleNotFound", field, $"rule '{Elb.Printable(arn)}' not found.");

    // ---- target groups ----------------------------------------------------------------------------------------

    public Task<T> CreateTargetGroupAsync<T>(TargetGroupCommand command, Func<TargetGroupRecord, LoadBalancingState, T> view)
    {
        Elb.Name("name", command.Name, loadBalancer: false);
        var protocol = command.Protocol ?? TargetProtocolKind.Http;
        Elb.Port("port", command.Port);
        var version = command.ProtocolVersion ?? "HTTP1";
        if (protocol == TargetProtocolKind.Tcp && command.ProtocolVersion is not null)
        {
            throw Elb.Validation("protocol_version", "only HTTP and HTTPS target groups have a protocol version.");
        }

        var check = MergeHealthCheck(Defaults(protocol, version), command.HealthCheck);
        Elb.HealthCheck("health_check", check, protocol, version);
        var attributes = MergeAttributes(new TargetGroupAttributesSpec { DeregistrationDelaySeconds = 300, StickinessType = protocol == TargetProtocolKind.Tcp ? "source_ip" : "lb_cookie" }, command.Attributes);
        Elb.Attributes("attributes", attributes);
        var cluster = Arns.ClusterName(command.Cluster);
        return kernel.CommitAsync(cluster, tx =>
        {
            tx.Cluster.RequireActive();
            if (!kernel.ClaimLoadBalancing(LoadBalancingKeys.TargetGroupName(command.Name), cluster))
            {
                throw Elb.Error(StateError.AlreadyExists, "DuplicateTargetGroupName", "name", $"a target group named '{command.Name}' exists.");
            }

            var group = new TargetGroupRecord
            {
                Arn = $"{ArnPrefix}targetgroup/{command.Name}/{NewId()}",
                Cluster = cluster,
                Name = command.Name,
                Protocol = protocol,
                ProtocolVersion = protocol == TargetProtocolKind.Tcp ? "" : version,
                Port = command.Port,
                TargetType = command.TargetType ?? TargetTypeKind.Instance,
                HealthCheck = check,
                Attributes = attributes,
                CreatedAt = tx.Now,
            };
            kernel.ClaimLoadBalancing(group.Arn, cluster);
            tx.PutLoadBalancing(group);
            return view(group, tx.Cluster.LoadBalancing);
        });
    }

    public List<T> DescribeTargetGroups<T>(string loadBalancer, IReadOnlyList<string> arns, IReadOnlyList<string> names, Func<TargetGroupRecord, LoadBalancingState, T> view)
    {
        if (!string.IsNullOrEmpty(loadBalancer))
        {
            return ReadLoadBalancer(loadBalancer, "load_balancer_arn", (lb, state) =>
                state.LoadBalancing.GroupsOf(lb.Arn).Select(arn => state.LoadBalancing.TargetGroups[arn]).OrderBy(g => g.Name, StringComparer.Ordinal)
                    .Select(g => view(g, state.LoadBalancing)).ToList());
        }

        if (arns.Count == 0 && names.Count == 0)
        {
            var all = new List<T>();
            foreach (var cluster in kernel.ClusterNames.Order(StringComparer.Ordinal))
            {
                kernel.ReadCluster(cluster, state =>
                {
                    foreach (var group in state?.LoadBalancing.TargetGroups.Values.OrderBy(g => g.Name, StringComparer.Ordinal) ?? Enumerable.Empty<TargetGroupRecord>())
                    {
                        all.Add(view(group, state!.LoadBalancing));
                    }

                    return 0;
                });
            }

            return all;
        }

        return [.. arns.Select(a => (a, "target_group_arns")).Concat(names.Select(n => (n, "names")))
            .Select(x => ReadTargetGroup(x.Item1, x.Item2, (g, state) => view(g, state.LoadBalancing)))];
    }

    public Task<T> ModifyTargetGroupAsync<T>(string reference, HealthCheckPatch? patch, Func<TargetGroupRecord, LoadBalancingState, T> view) =>
        CommitTargetGroup(reference, "target_group_arn", (tx, group) =>
        {
            var check = MergeHealthCheck(group.HealthCheck, patch);
            Elb.HealthCheck("health_check", check, group.Protocol, group.ProtocolVersion);
            group.HealthCheck = check;
            tx.PutLoadBalancing(group);
            return view(group, tx.Cluster.LoadBalancing);
        });

    public Task<T> ModifyTargetGroupAttributesAsync<T>(string reference, AttributesPatch? patch, Func<TargetGroupAttributesSpec, T> view) =>
        CommitTargetGroup(reference, "target_group_arn", (tx, group) =>
        {
            var attributes = MergeAttributes(group.Attributes, patch);
            Elb.Attributes("attributes", attributes);
            group.Attributes = attributes;
            tx.PutLoadBalancing(group);
            return view(attributes);
        });

    public Task DeleteTargetGroupAsync(string reference)
    {
        if (FindCluster(reference, LoadBalancingKeys.TargetGroupName) is null)
        {
            return Task.CompletedTask;
        }

        return CommitTargetGroup(reference, "target_group_arn", (tx, group) =>
        {
            var lbs = tx.Cluster.LoadBalancing;
            var users = lbs.Listeners.Values.Where(l => l.DefaultAction.ForwardArns.Contains(group.Arn)).Select(l => "listener " + l.Arn)
                .Concat(lbs.Rules.Values.Where(r => r.Action.ForwardArns.Contains(group.Arn)).Select(r => "rule " + r.Arn))
                .Concat(tx.Cluster.Services.Values.Where(s => s.Status != Statuses.Inactive && s.LoadBalancers.Any(l => l.TargetGroupArn == group.Arn)).Select(s => "service " + s.Name))
                .ToList();
            if (users.Count > 0)
            {
                throw Elb.Error(StateError.FailedPrecondition, "ResourceInUse", "target_group_arn", $"target group '{group.Name}' is in use by {string.Join(", ", users.Take(3))}.");
            }

            tx.RemoveLoadBalancing(group.Arn);
            kernel.ReleaseLoadBalancing(group.Arn);
            kernel.ReleaseLoadBalancing(LoadBalancingKeys.TargetGroupName(group.Name));
            return 0;
        });
    }

    // ---- targets ----------------------------------------------------------------------------------------------

    public Task RegisterTargetsAsync(string reference, IReadOnlyList<(string Id, int Port, string Zone)> targets)
    {
        CheckTargets(targets);
        return CommitTargetGroup(reference, "target_group_arn", (tx, group) =>
        {
            if (group.TargetType == TargetTypeKind.Ip)
            {
                // ELB: an ip group's targets are IP addresses; a host name is an instance group's (Berth's instance ids).
                for (var i = 0; i < targets.Count; i++)
                {
                    if (!System.Net.IPAddress.TryParse(targets[i].Id, out _))
                    {
                        throw Elb.Validation($"targets[{i}].id", $"'{Elb.Printable(targets[i].Id)}' is not an IP address: target group '{group.Name}' has target type ip.");
                    }
                }
            }

            foreach (var (id, port, zone) in targets)
            {
                TargetRegistry.Register(tx, group, new TargetRecord { Id = id, Port = port == 0 ? group.Port : port, AvailabilityZone = zone, RegisteredAt = tx.Now });
            }

            return 0;
        });
    }

    public Task DeregisterTargetsAsync(string reference, IReadOnlyList<(string Id, int Port, string Zone)> targets)
    {
        CheckTargets(targets);
        return CommitTargetGroup(reference, "target_group_arn", (tx, group) =>
        {
            foreach (var (id, port, _) in targets)
            {
                if (group.Targets.TryGetValue(TargetRecord.KeyOf(id, port == 0 ? group.Port : port), out var target))
                {
                    TargetRegistry.Deregister(tx, group, target, stop: null);
                }
            }

            return 0;
        });
    }

    private static void CheckTargets(IReadOnlyList<(string Id, int Port, string Zone)> targets)
    {
        if (targets.Count == 0)
        {
            throw Elb.Validation("targets", "give at least one target.");
        }

        for (var i = 0; i < targets.Count; i++)
        {
            Elb.TargetId($"targets[{i}].id", targets[i].Id);
            if (targets[i].Port != 0)
            {
                Elb.Port($"targets[{i}].port", targets[i].Port);
            }
        }
    }

    /// <summary>
    /// ELB DescribeTargetHealth: every target (or the ones asked for) with its health aggregated over the replicas heard
    /// from in the last minute (the worst state wins); unregistered ones asked for are unused/Target.NotRegistered.
    /// </summary>
    public List<T> DescribeTargetHealth<T>(string reference, IReadOnlyList<(string Id, int Port)> only, Func<TargetRecord, string, TargetObservation, T> view) =>
        ReadTargetGroup(reference, "target_group_arn", (group, state) =>
        {
            var now = kernel.Now;
            var targets = only.Count == 0
                ? group.Targets.Values.OrderBy(t => t.Key, StringComparer.Ordinal).ToList()
                : [.. only.Select(o => group.Targets.GetValueOrDefault(TargetRecord.KeyOf(o.Id, o.Port == 0 ? group.Port : o.Port))
                    ?? new TargetRecord { Id = o.Id, Port = o.Port == 0 ? group.Port : o.Port, RegisteredAt = DateTimeOffset.MinValue })];
            var healthPort = group.HealthCheck.Port;
            return targets.Select(t => view(t, healthPort == "traffic-port" ? t.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) : healthPort,
                TargetHealthOf(state.LoadBalancing, group, t, now))).ToList();
        });

    /// <summary>A target's health as the balancers see it (see <see cref="DescribeTargetHealth{T}"/>).</summary>
    public static TargetObservation TargetHealthOf(LoadBalancingState lbs, TargetGroupRecord group, TargetRecord target, DateTimeOffset now)
    {
        if (!group.Targets.TryGetValue(target.Key, out var registered) || registered.RegisteredAt == DateTimeOffset.MinValue)
        {
            return new TargetObservation("unused", "Target.NotRegistered", "Target is not registered to the target group", now);
        }

        if (registered.Draining)
        {
            return new TargetObservation("draining", "Target.DeregistrationInProgress", "Target deregistration is in progress", now);
        }

        var balancers = lbs.LoadBalancersOf(group.Arn);
        if (balancers.Count == 0)
        {
            return new TargetObservation("unused", "Target.NotInUse", "Target group is not configured to receive traffic from the load balancer", now);
        }

        if (!group.HealthCheck.Enabled)
        {
            return new TargetObservation("unavailable", "Target.HealthCheckDisabled", "Health checks are disabled", now);
        }

        // Replicas heard from in the last minute; each one's latest word on this target; the worst state wins.
        var live = balancers.SelectMany(lb => lbs.Replicas.GetValueOrDefault(lb) ?? [])
            .Where(r => r.Value.Connected || now - r.Value.LastHeard < ReplicaMemory).Select(r => r.Key).ToHashSet(StringComparer.Ordinal);
        TargetObservation? worst = null;
        Dictionary<string, TargetObservation>? byReplica = null;
        if (lbs.Health.TryGetValue(group.Arn, out var byTarget) && byTarget.TryGetValue(target.Key, out byReplica))
        {
            foreach (var (replica, observation) in byReplica)
            {
                if (live.Contains(replica) && (worst is null || Rank(observation.State) > Rank(worst.State)))
                {
                    worst = observation;
                }
            }
        }

        // Registered, but no replica that counts has said anything yet (or some have not).
        if (worst is null || (byReplica is not null && live.Any(r => !byReplica.ContainsKey(r)) && Rank(worst.State) < Rank("initial")))
        {
            return new TargetObservation("initial", "Elb.RegistrationInProgress", "Target registration is in progress", now);
        }

        return worst;
    }

    private static int Rank(string state) => state switch
    {
        "healthy" => 0,
        "unavailable" => 1,
        "draining" => 2,
        "initial" => 3,
        "unused" => 3,
        _ => 4,
    };

    // ---- lookups ----------------------------------------------------------------------------------------------

    /// <summary>The cluster holding a record by ARN, or (with <paramref name="nameKey"/>) by name.</summary>
    private string? FindCluster(string reference, Func<string, string>? nameKey) =>
        string.IsNullOrEmpty(reference) ? null
        : reference.StartsWith("arn:", StringComparison.Ordinal) || nameKey is null ? kernel.ClusterOfLoadBalancing(reference)
        : kernel.ClusterOfLoadBalancing(nameKey(reference));

    private static LoadBalancerRecord? FindLoadBalancer(LoadBalancingState lbs, string reference) =>
        lbs.LoadBalancers.GetValueOrDefault(reference) ?? lbs.LoadBalancers.Values.FirstOrDefault(l => l.Name == reference);

    /// <summary>A target group of a cluster by ARN or name, or null.</summary>
    public static TargetGroupRecord? FindTargetGroup(LoadBalancingState lbs, string reference) =>
        lbs.TargetGroups.GetValueOrDefault(reference) ?? lbs.TargetGroups.Values.FirstOrDefault(g => g.Name == reference);

    private T ReadLoadBalancer<T>(string reference, string field, Func<LoadBalancerRecord, ClusterState, T> read)
    {
        var missing = () => Elb.NotFound("LoadBalancerNotFound", field, $"load balancer '{Elb.Printable(reference)}' not found.");
        var cluster = FindCluster(reference, LoadBalancingKeys.LoadBalancerName) ?? throw missing();
        return kernel.ReadCluster(cluster, state => state is not null && FindLoadBalancer(state.LoadBalancing, reference) is { } lb ? read(lb, state) : throw missing());
    }

    private T ReadListener<T>(string arn, string field, Func<ListenerRecord, ClusterState, T> read)
    {
        var missing = () => Elb.NotFound("ListenerNotFound", field, $"listener '{Elb.Printable(arn)}' not found.");
        var cluster = FindCluster(arn, null) ?? throw missing();
        return kernel.ReadCluster(cluster, state => state?.LoadBalancing.Listeners.GetValueOrDefault(arn) is { } l ? read(l, state) : throw missing());
    }

    private T ReadRule<T>(string arn, string field, Func<RuleRecord, ListenerRecord, T> read)
    {
        var cluster = FindCluster(arn, null) ?? throw RuleNotFound(arn, field);
        return kernel.ReadCluster(cluster, state => state?.LoadBalancing.Rules.GetValueOrDefault(arn) is { } r ? read(r, state.LoadBalancing.Listeners[r.ListenerArn]) : throw RuleNotFound(arn, field));
    }

    private T ReadTargetGroup<T>(string reference, string field, Func<TargetGroupRecord, ClusterState, T> read)
    {
        var missing = () => Elb.NotFound("TargetGroupNotFound", field, $"target group '{Elb.Printable(reference)}' not found.");
        var cluster = FindCluster(reference, LoadBalancingKeys.TargetGroupName) ?? throw missing();
        return kernel.ReadCluster(cluster, state => state is not null && FindTargetGroup(state.LoadBalancing, reference) is { } g ? read(g, state) : throw missing());
    }

    private Task<T> CommitListener<T>(string arn, string field, Func<ClusterTransaction, ListenerRecord, T> change)
    {
        var missing = () => Elb.NotFound("ListenerNotFound", field, $"listener '{Elb.Printable(arn)}' not found.");
        var cluster = FindCluster(arn, null) ?? throw missing();
        return kernel.CommitAsync(cluster, tx => change(tx, tx.Cluster.LoadBalancing.Listeners.GetValueOrDefault(arn) ?? throw missing()));
    }

    private Task<T> CommitTargetGroup<T>(string reference, string field, Func<ClusterTransaction, TargetGroupRecord, T> change)
    {
        var missing = () => Elb.NotFound("TargetGroupNotFound", field, $"target group '{Elb.Printable(reference)}' not found.");
        var cluster = FindCluster(reference, LoadBalancingKeys.TargetGroupName) ?? throw missing();
        return kernel.CommitAsync(cluster, tx => change(tx, FindTargetGroup(tx.Cluster.LoadBalancing, reference) ?? throw missing()));
    }

    // ---- shared checks ----------------------------------------------------------------------------------------

    private static ActionSpec SingleAction(string field, IReadOnlyList<ActionSpec> actions)
    {
        if (actions.Count != 1)
        {
            throw Elb.Validation(field, "exactly one final action (forward, fixed_response or redirect) is supported.");
        }

        Elb.ActionShape($"{field}[0]", actions[0]);
        return actions[0];
    }

    /// <summary>A forward action's target groups exist in the load balancer's cluster and speak the listener's protocol.</summary>
    private static ActionSpec CheckForward(LoadBalancingState lbs, string field, ActionSpec action, ListenerProtocolKind protocol)
    {
        if (protocol == ListenerProtocolKind.Tcp && (action.Type != "forward" || action.TargetGroups.Length != 1))
        {
            throw Elb.Validation(field, "a TCP listener's default action forwards to exactly one target group.");
        }

        for (var i = 0; i < action.TargetGroups.Length; i++)
        {
            var arn = action.TargetGroups[i].TargetGroupArn;
            var group = FindTargetGroup(lbs, arn)
                ?? throw Elb.NotFound("TargetGroupNotFound", $"{field}.forward.target_groups[{i}].target_group_arn", $"target group '{Elb.Printable(arn)}' not found in the load balancer's cluster.");
            if ((protocol == ListenerProtocolKind.Tcp) != (group.Protocol == TargetProtocolKind.Tcp))
            {
                throw Elb.Error(StateError.InvalidArgument, "IncompatibleProtocols", $"{field}.forward.target_groups[{i}]",
                    $"target group '{group.Name}' speaks {group.Protocol.ToString().ToUpperInvariant()}, the listener {protocol.ToString().ToUpperInvariant()}.");
            }
        }

        // Stored by ARN, whatever the request named them by.
        return action with { TargetGroups = [.. action.TargetGroups.Select(g => g with { TargetGroupArn = FindTargetGroup(lbs, g.TargetGroupArn)!.Arn })] };
    }

    private static HealthCheckSpec Defaults(TargetProtocolKind protocol, string version) => new()
    {
        Enabled = true,
        Protocol = protocol == TargetProtocolKind.Tcp ? "TCP" : protocol == TargetProtocolKind.Https ? "HTTPS" : "HTTP",
        Path = version == "GRPC" ? "/AWS.ALB/healthcheck" : "/",
        HealthyThreshold = protocol == TargetProtocolKind.Tcp ? 3 : 5,
        UnhealthyThreshold = protocol == TargetProtocolKind.Tcp ? 3 : 2,
        TimeoutSeconds = protocol == TargetProtocolKind.Tcp ? 10 : 5,
    };

    private static HealthCheckSpec MergeHealthCheck(HealthCheckSpec current, HealthCheckPatch? p) => p is null ? current : current with
    {
        Enabled = p.Enabled ?? current.Enabled,
        Protocol = p.Protocol ?? current.Protocol,
        Port = p.Port ?? current.Port,
        Path = p.Path ?? current.Path,
        IntervalSeconds = p.IntervalSeconds ?? current.IntervalSeconds,
        TimeoutSeconds = p.TimeoutSeconds ?? current.TimeoutSeconds,
        HealthyThreshold = p.HealthyThreshold ?? current.HealthyThreshold,
        UnhealthyThreshold = p.UnhealthyThreshold ?? current.UnhealthyThreshold,
        HttpCode = p.HttpCode ?? current.HttpCode,
        GrpcCode = p.GrpcCode ?? current.GrpcCode,
    };

    private static TargetGroupAttributesSpec MergeAttributes(TargetGroupAttributesSpec current, AttributesPatch? p) => p is null ? current : current with
    {
        DeregistrationDelaySeconds = p.DeregistrationDelaySeconds ?? current.DeregistrationDelaySeconds,
        StickinessEnabled = p.StickinessEnabled ?? current.StickinessEnabled,
        StickinessType = p.StickinessType ?? current.StickinessType,
        StickinessSeconds = p.StickinessSeconds ?? current.StickinessSeconds,
        SlowStartSeconds = p.SlowStartSeconds ?? current.SlowStartSeconds,
        Algorithm = p.Algorithm ?? current.Algorithm,
    };
}

/// <summary>CreateListener / ModifyListener as the scheduler takes them (null or empty: not given).</summary>
internal sealed record ListenerCommand
{
    public string LoadBalancer { get; init; } = "";

    public int? Port { get; init; }

    public ListenerProtocolKind? Protocol { get; init; }

    public ImmutableArray<string> Certificates { get; init; } = [];

    public string? SslPolicy { get; init; }

    public string? AlpnPolicy { get; init; }

    public IReadOnlyList<ActionSpec> DefaultActions { get; init; } = [];
}

/// <summary>CreateTargetGroup as the scheduler takes it.</summary>
internal sealed record TargetGroupCommand
{
    public string Name { get; init; } = "";

    public TargetProtocolKind? Protocol { get; init; }

    public string? ProtocolVersion { get; init; }

    public int Port { get; init; }

    public HealthCheckPatch? HealthCheck { get; init; }

    public AttributesPatch? Attributes { get; init; }

    public string Cluster { get; init; } = "";

    /// <summary>ELB TargetType; null: <c>instance</c>, ELB's default.</summary>
    public TargetTypeKind? TargetType { get; init; }
}

/// <summary>Health-check fields given in a request (null: keep, or ELB's default on create).</summary>
internal sealed record HealthCheckPatch
{
    public bool? Enabled { get; init; }

    public string? Protocol { get; init; }

    public string? Port { get; init; }

    public string? Path { get; init; }

    public int? IntervalSeconds { get; init; }

    public int? TimeoutSeconds { get; init; }

    public int? HealthyThreshold { get; init; }

    public int? UnhealthyThreshold { get; init; }

    public string? HttpCode { get; init; }

    public string? GrpcCode { get; init; }
}

/// <summary>Target-group attributes given in a request (null: keep, or ELB's default on create).</summary>
internal sealed record AttributesPatch
{
    public int? DeregistrationDelaySeconds { get; init; }

    public bool? StickinessEnabled { get; init; }

    public string? StickinessType { get; init; }

    public int? StickinessSeconds { get; init; }

    public int? SlowStartSeconds { get; init; }

    public string? Algorithm { get; init; }
}
