using Berth.Scheduler.Kernel;
using Berth.Scheduler.SecurityGroups;
using Berth.Scheduler.V1;
using Grpc.Core;

namespace Berth.Scheduler.ControlPlane;

/// <summary>The SecurityGroups API (EC2's security group calls; the cluster is the VPC).</summary>
internal sealed class SecurityGroupService(SecurityGroupHandler groups) : V1.SecurityGroups.SecurityGroupsBase
{
    public override async Task<CreateSecurityGroupResponse> CreateSecurityGroup(CreateSecurityGroupRequest request, ServerCallContext context)
    {
        var created = await groups.CreateAsync(request.Cluster, request.GroupName, request.Description, ToWire);
        return new CreateSecurityGroupResponse { GroupId = created.GroupId, SecurityGroup = created };
    }

    public override async Task<DescribeSecurityGroupsResponse> DescribeSecurityGroups(DescribeSecurityGroupsRequest request, ServerCallContext context)
    {
        var (found, next) = await groups.DescribeAsync(new SecurityGroupQuery
        {
            Cluster = request.Cluster,
            GroupIds = request.GroupIds,
            GroupNames = request.GroupNames,
            MaxResults = request.MaxResults,
            NextToken = request.NextToken,
        }, ToWire);
        var response = new DescribeSecurityGroupsResponse { NextToken = next };
        response.SecurityGroups.AddRange(found);
        return response;
    }

    public override async Task<DeleteSecurityGroupResponse> DeleteSecurityGroup(DeleteSecurityGroupRequest request, ServerCallContext context) =>
        new() { GroupId = await groups.DeleteAsync(request.Cluster, request.Group) };

    public override async Task<AuthorizeSecurityGroupIngressResponse> AuthorizeSecurityGroupIngress(AuthorizeSecurityGroupIngressRequest request, ServerCallContext context) =>
        new() { SecurityGroup = await groups.AuthorizeAsync(request.Cluster, request.Group, FromWire(request.IpPermissions), ToWire) };

    public override async Task<RevokeSecurityGroupIngressResponse> RevokeSecurityGroupIngress(RevokeSecurityGroupIngressRequest request, ServerCallContext context) =>
        new() { SecurityGroup = await groups.RevokeAsync(request.Cluster, request.Group, FromWire(request.IpPermissions), ToWire) };

    private static List<IpPermissionSpec> FromWire(IEnumerable<IpPermission> permissions) =>
        [.. permissions.Select(p => new IpPermissionSpec(
            p.IpProtocol,
            p.HasFromPort ? p.FromPort : null,
            p.HasToPort ? p.ToPort : null,
            [
                .. p.IpRanges.Select(r => new RuleSource(r.CidrIp, null, r.Description)),
                .. p.UserIdGroupPairs.Select(g => new RuleSource(null, g.GroupId, g.Description)),
            ]))];

    /// <summary>A group as EC2 shows it: rules with the same protocol and ports grouped into one IpPermission, in rule order.</summary>
    internal static SecurityGroupInfo ToWire(SecurityGroupRecord group)
    {
        var info = new SecurityGroupInfo
        {
            GroupId = group.Id,
            GroupName = group.Name,
            Description = group.Description,
            Cluster = group.Cluster,
            CreatedAt = WireConvert.ToWire(group.CreatedAt),
            IpPermissionsEgress = { new IpPermission { IpProtocol = "-1", IpRanges = { new IpRange { CidrIp = "0.0.0.0/0" } } } },
        };
        var byKey = new Dictionary<(string, int, int), IpPermission>();
        foreach (var rule in group.Ingress)
        {
            if (!byKey.TryGetValue((rule.Protocol, rule.FromPort, rule.ToPort), out var permission))
            {
                permission = new IpPermission { IpProtocol = rule.Protocol };
                if (rule.Protocol is "tcp" or "udp" or "icmp")
                {
                    permission.FromPort = rule.FromPort;
                    permission.ToPort = rule.ToPort;
                }

                byKey[(rule.Protocol, rule.FromPort, rule.ToPort)] = permission;
                info.IpPermissions.Add(permission);
            }

            if (rule.SourceCidr is { } cidr)
            {
                permission.IpRanges.Add(new IpRange { CidrIp = cidr, Description = rule.Description });
            }
            else
            {
                permission.UserIdGroupPairs.Add(new UserIdGroupPair { GroupId = rule.SourceGroupId ?? "", Description = rule.Description });
            }
        }

        return info;
    }
}
