using System.Text.Json.Serialization;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.Persistence;

/// <summary>
/// Schema 1 of a security group (security_groups.Document): its description, when it was made and its ingress rules, one
/// source each. Its own shapes, not the API's IpPermissions nor the kernel's records, so either may change without
/// rewriting rows.
/// </summary>
internal sealed class SecurityGroupDocument
{
    public int Schema { get; set; } = StoredDocuments.Schema;

    public string? Description { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public List<IngressRuleDocument>? Ingress { get; set; }
}

/// <summary>An ingress rule: protocol, ports, and a CIDR or a group as its source.</summary>
internal sealed class IngressRuleDocument
{
    [JsonPropertyName("p")]
    public string? Protocol { get; set; }

    [JsonPropertyName("f")]
    public int From { get; set; }

    [JsonPropertyName("t")]
    public int To { get; set; }

    [JsonPropertyName("c")]
    public string? Cidr { get; set; }

    [JsonPropertyName("g")]
    public string? Group { get; set; }

    [JsonPropertyName("d")]
    public string? Description { get; set; }
}

/// <summary>Security groups to and from their rows.</summary>
internal static class StoredSecurityGroups
{
    public static SecurityGroupRow ToRow(SecurityGroupRecord group) => new()
    {
        Id = group.Id,
        Cluster = group.Cluster,
        Name = group.Name,
        Document = StoredDocuments.Encode(new SecurityGroupDocument
        {
            Description = group.Description,
            CreatedAt = group.CreatedAt,
            Ingress = group.Ingress.IsEmpty ? null : [.. group.Ingress.Select(r => new IngressRuleDocument
            {
                Protocol = r.Protocol,
                From = r.FromPort,
                To = r.ToPort,
                Cidr = r.SourceCidr,
                Group = r.SourceGroupId,
                Description = r.Description.Length == 0 ? null : r.Description,
            })],
        }),
    };

    public static SecurityGroupRecord FromRow(SecurityGroupRow row)
    {
        var d = StoredDocuments.DecodeSecurityGroup(row.Document);
        return new SecurityGroupRecord
        {
            Id = row.Id,
            Cluster = row.Cluster,
            Name = row.Name,
            Description = d.Description ?? "",
            CreatedAt = d.CreatedAt,
            Ingress = [.. (d.Ingress ?? []).Select(r => new IngressRule(r.Protocol ?? "-1", r.From, r.To, r.Cidr, r.Group, r.Description ?? ""))],
        };
    }
}
