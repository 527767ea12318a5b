using System.Text.RegularExpressions;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.LoadBalancing;

/// <summary>
/// ELB's error names and validation rules. Every refusal's message starts with ELB's error name, then the field
/// (<c>ValidationError: health_check.path: must start with '/'</c>), as the contract promises.
/// </summary>
internal static partial class Elb
{
    public static StateException Validation(string field, string message) => new(StateError.InvalidArgument, $"ValidationError: {field}: {message}");

    public static StateException Error(StateError error, string name, string field, string message) => new(error, $"{name}: {field}: {message}");

    public static StateException NotFound(string name, string field, string message) => Error(StateError.NotFound, name, field, message);

    [GeneratedRegex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")]
    private static partial Regex NameRegex();

    [GeneratedRegex("^[A-Za-z0-9.*?-]{1,128}$")]
    private static partial Regex HostPatternRegex();

    [GeneratedRegex("^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}$")]
    private static partial Regex HeaderNameRegex();

    [GeneratedRegex("^[A-Z_-]{1,40}$")]
    private static partial Regex MethodRegex();

    [GeneratedRegex("^[245][0-9]{2}$")]
    private static partial Regex StatusCodeRegex();

    /// <summary>A load balancer or target group name: 1-32 letters, digits and '-', not at either end.</summary>
    public static void Name(string field, string name, bool loadBalancer)
    {
        if (!NameRegex().IsMatch(name))
        {
            throw Validation(field, $"'{Printable(name)}' must be 1-32 letters, digits and hyphens, not starting or ending with a hyphen.");
        }

        if (loadBalancer && name.StartsWith("internal-", StringComparison.OrdinalIgnoreCase))
        {
            throw Validation(field, "must not start with 'internal-'.");
        }
    }

    public static void Port(string field, int port)
    {
        if (port is < 1 or > 65535)
        {
            throw Validation(field, "must be 1-65535.");
        }
    }

    public static void Range(string field, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            throw Validation(field, $"must be {min}-{max}.");
        }
    }

    /// <summary>A rule's conditions: 1-5, at most 5 values in all, each as ELB allows.</summary>
    public static void Conditions(string field, IReadOnlyList<ConditionSpec> conditions)
    {
        if (conditions.Count is < 1 or > 5)
        {
            throw Validation(field, "a rule takes 1-5 conditions.");
        }

        var values = 0;
        for (var i = 0; i < conditions.Count; i++)
        {
            var c = conditions[i];
            var at = $"{field}[{i}]";
            var count = c.Field == "query-string" ? c.Pairs.Length : c.Values.Length;
            if (count == 0)
            {
                throw Validation($"{at}.{Snake(c.Field)}.values", "needs at least one value.");
            }

            values += count;
            for (var j = 0; j < c.Values.Length; j++)
            {
                var v = c.Values[j];
                var vf = $"{at}.{Snake(c.Field)}.values[{j}]";
                switch (c.Field)
                {
                    case "host-header" when !HostPatternRegex().IsMatch(v):
                        throw Validation(vf, "must be 1-128 characters of A-Z, a-z, 0-9, '-', '.', '*' and '?'.");
                    case "path-pattern" when v.Length is 0 or > 128 || v[0] != '/' || HasControl(v):
                        throw Validation(vf, "must start with '/' and be at most 128 characters.");
                    case "http-header" when v.Length is 0 or > 128 || HasControl(v):
                        throw Validation(vf, "must be 1-128 characters.");
                    case "http-request-method" when !MethodRegex().IsMatch(v):
                        throw Validation(vf, "must be 1-40 characters of A-Z, '-' and '_'.");
                }
            }

            if (c.Field == "http-header")
            {
                if (!HeaderNameRegex().IsMatch(c.HeaderName))
                {
                    throw Validation($"{at}.http_header.http_header_name", "must be 1-40 characters of a header name.");
                }

                if (string.Equals(c.HeaderName, "Host", StringComparison.OrdinalIgnoreCase))
                {
                    throw Validation($"{at}.http_header.http_header_name", "use a host-header condition for Host.");
                }
            }

            for (var j = 0; j < c.Pairs.Length; j++)
            {
                var p = c.Pairs[j];
                if (p.Value.Length is 0 or > 128 || p.Key.Length > 128 || HasControl(p.Key) || HasControl(p.Value))
                {
                    throw Validation($"{at}.query_string.values[{j}]", "the value must be 1-128 characters and the key at most 128.");
                }
            }

            if (c.Field is not ("host-header" or "path-pattern" or "http-header" or "query-string" or "http-request-method"))
            {
                throw Validation(at, "exactly one condition must be set.");
            }
        }

        if (values > 5)
        {
            throw Validation(field, $"a rule takes at most 5 condition values in all; these have {values}.");
        }
    }

    /// <summary>An action's own shape (target groups are checked against the state by the handler).</summary>
    public static void ActionShape(string field, ActionSpec action)
    {
        switch (action.Type)
        {
            case "forward":
                if (action.TargetGroups.Length is < 1 or > 5)
                {
                    throw Validation($"{field}.forward.target_groups", "a forward action takes 1-5 target groups.");
                }

                for (var i = 0; i < action.TargetGroups.Length; i++)
                {
                    Range($"{field}.forward.target_groups[{i}].weight", action.TargetGroups[i].Weight, 0, 999);
                }

                if (action.TargetGroups.Select(g => g.TargetGroupArn).Distinct(StringComparer.Ordinal).Count() != action.TargetGroups.Length)
                {
                    throw Validation($"{field}.forward.target_groups", "a target group appears twice.");
                }

                if (action.GroupStickiness)
                {
                    Range($"{field}.forward.target_group_stickiness.duration_seconds", action.GroupStickinessSeconds, 1, 604800);
                }

                break;
            case "fixed-response":
                var fixedResponse = action.FixedResponse!;
                if (!StatusCodeRegex().IsMatch(fixedResponse.StatusCode))
                {
                    throw Validation($"{field}.fixed_response.status_code", "must be a 2XX, 4XX or 5XX code.");
                }

                if (fixedResponse.ContentType is not ("" or "text/plain" or "text/css" or "text/html" or "application/javascript" or "application/json"))
                {
                    throw Validation($"{field}.fixed_response.content_type", "must be text/plain, text/css, text/html, application/javascript or application/json.");
                }

                if (System.Text.Encoding.UTF8.GetByteCount(fixedResponse.MessageBody) > 1024)
                {
                    throw Validation($"{field}.fixed_response.message_body", "must be at most 1024 bytes.");
                }

                break;
            case "redirect":
                var r = action.Redirect!;
                if (r.StatusCode is not ("HTTP_301" or "HTTP_302"))
                {
                    throw Validation($"{field}.redirect.status_code", "must be HTTP_301 or HTTP_302.");
                }

                if (r.Protocol is not ("" or "HTTP" or "HTTPS" or "#{protocol}"))
                {
                    throw Validation($"{field}.redirect.protocol", "must be HTTP, HTTPS or #{protocol}.");
                }

                if (r.Port.Length > 0 && r.Port != "#{port}" && !(int.TryParse(r.Port, out var port) && port is >= 1 and <= 65535))
                {
                    throw Validation($"{field}.redirect.port", "must be 1-65535 or #{port}.");
                }

                if (r.Path.Length > 0 && r.Path[0] != '/')
                {
                    throw Validation($"{field}.redirect.path", "must start with '/'.");
                }

                if (r.Query.StartsWith('?'))
                {
                    throw Validation($"{field}.redirect.query", "must not start with '?'.");
                }

                if (HasControl(r.Host) || HasControl(r.Path) || HasControl(r.Query))
                {
                    throw Validation($"{field}.redirect", "must not hold control characters.");
                }

                break;
            default:
                throw Validation(field, "exactly one action (forward, fixed_response or redirect) must be set.");
        }
    }

    /// <summary>A health check with every default filled in.</summary>
    public static void HealthCheck(string field, HealthCheckSpec check, TargetProtocolKind protocol, string protocolVersion)
    {
        if (check.Protocol is not ("HTTP" or "HTTPS" or "TCP"))
        {
            throw Validation($"{field}.protocol", "must be HTTP, HTTPS or TCP.");
        }

        if (protocol != TargetProtocolKind.Tcp && check.Protocol == "TCP")
        {
            throw Validation($"{field}.protocol", "an HTTP or HTTPS target group checks with HTTP or HTTPS.");
        }

        if (check.Port != "traffic-port" && !(int.TryParse(check.Port, out var port) && port is >= 1 and <= 65535))
        {
            throw Validation($"{field}.port", "must be traffic-port or 1-65535.");
        }

        if (check.Path.Length == 0 || check.Path[0] != '/')
        {
            throw Validation($"{field}.path", "must start with '/'.");
        }

        if (check.Path.Length > 1024 || HasControl(check.Path))
        {
            throw Validation($"{field}.path", "must be at most 1024 characters without control characters.");
        }

        Range($"{field}.interval_seconds", check.IntervalSeconds, 5, 300);
        Range($"{field}.timeout_seconds", check.TimeoutSeconds, 2, 120);
        if (check.TimeoutSeconds >= check.IntervalSeconds)
        {
            throw Validation($"{field}.timeout_seconds", "must be less than interval_seconds.");
        }

        Range($"{field}.healthy_threshold_count", check.HealthyThreshold, 2, 10);
        Range($"{field}.unhealthy_threshold_count", check.UnhealthyThreshold, 2, 10);
        Codes($"{field}.http_code", check.HttpCode, 200, 499);
        if (protocolVersion == "GRPC")
        {
            Codes($"{field}.grpc_code", check.GrpcCode, 0, 99);
        }
    }

    /// <summary>ELB's matcher: <c>200</c>, <c>200,202</c> or <c>200-299</c>, every code in range.</summary>
    public static void Codes(string field, string codes, int min, int max)
    {
        foreach (var part in codes.Split(','))
        {
            var bounds = part.Split('-');
            if (bounds.Length > 2 || bounds.Any(b => !int.TryParse(b, System.Globalization.NumberStyles.None, null, out var code) || code < min || code > max)
                || (bounds.Length == 2 && int.Parse(bounds[0]) > int.Parse(bounds[1])))
            {
                throw Validation(field, $"'{Printable(codes)}' must be codes {min}-{max} as '200', '200,202' or '200-299'.");
            }
        }
    }

    public static void Attributes(string field, TargetGroupAttributesSpec a)
    {
        Range($"{field}.deregistration_delay_seconds", a.DeregistrationDelaySeconds, 0, 3600);
        Range($"{field}.stickiness.duration_seconds", a.StickinessSeconds, 1, 604800);
        if (a.StickinessType is not ("lb_cookie" or "source_ip"))
        {
            throw Validation($"{field}.stickiness.type", "only lb_cookie (or source_ip for TCP groups) is supported.");
        }

        if (a.SlowStartSeconds != 0)
        {
            Range($"{field}.slow_start_duration_seconds", a.SlowStartSeconds, 30, 900);
            if (a.Algorithm == "least_outstanding_requests")
            {
                throw Validation($"{field}.slow_start_duration_seconds", "slow start does not go with least_outstanding_requests.");
            }
        }
    }

    /// <summary>A target's address: an IP address or a host name, no port.</summary>
    public static void TargetId(string field, string id)
    {
        if (id.Length is 0 or > 253 || !(System.Net.IPAddress.TryParse(id, out _) || Uri.CheckHostName(id) == UriHostNameType.Dns))
        {
            throw Validation(field, $"'{Printable(id)}' is not an IP address or host name.");
        }
    }

    public static string Snake(string field) => field.Replace('-', '_');

    private static bool HasControl(string value) => value.Any(char.IsControl);

    /// <summary>A value as messages may echo it: control characters never reach a terminal.</summary>
    public static string Printable(string value) =>
        value.Length > 64 ? Printable(value[..64]) + "..." : new string([.. value.Select(c => char.IsControl(c) ? '?' : c)]);
}
