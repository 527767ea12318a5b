using System.CommandLine;
using System.Globalization;
using Berth.Cli.Common;
using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;

namespace Berth.Cli.Services;

/// <summary>
/// <c>berth service scaling target|policy|schedule|activities</c> (Application Auto Scaling for a service),
/// <c>berth service metrics</c> and <c>berth task stats</c> (the numbers behind its decisions).
/// </summary>
internal static class ScalingCommands
{
    public static Command Build(CommandActions actions)
    {
        var scaling = new Command("scaling", "Service auto scaling: scalable target, policies, scheduled actions, activities (Application Auto Scaling)");
        var target = new Command("target", "The service's scalable target (min and max desired count)");
        target.Add(Register(actions));
        target.Add(Deregister(actions));
        target.Add(DescribeTargets(actions));
        var policy = new Command("policy", "Scaling policies: target tracking on CPU or memory, step scaling");
        policy.Add(PutTargetTracking(actions));
        policy.Add(PutStep(actions));
        policy.Add(DeletePolicy(actions));
        policy.Add(DescribePolicies(actions));
        var schedule = new Command("schedule", "Scheduled actions: set min and max at a time (at, rate or cron, in a time zone)");
        schedule.Add(PutSchedule(actions));
        schedule.Add(DeleteSchedule(actions));
        schedule.Add(DescribeSchedules(actions));
        scaling.Add(target);
        scaling.Add(policy);
        scaling.Add(schedule);
        scaling.Add(Activities(actions));
        return scaling;
    }

    private static Option<string> Name() => new("--name", "-s") { Description = "The service name", Required = true };

    private static Option<string?> OptionalName() => new("--name", "-s") { Description = "Only this service" };

    private static string Resource(CliContext context, string service) => $"service/{context.Cluster}/{service}";

    private static Command Register(CommandActions actions)
    {
        var name = Name();
        var min = new Option<int?>("--min") { Description = "Lowest desired count (required the first time)" };
        var max = new Option<int?>("--max") { Description = "Highest desired count (required the first time)" };
        var suspendIn = new Option<bool?>("--suspend-scale-in") { Description = "Suspend (true) or resume (false) policies' scale-in" };
        var suspendOut = new Option<bool?>("--suspend-scale-out") { Description = "Suspend (true) or resume (false) policies' scale-out" };
        var suspendScheduled = new Option<bool?>("--suspend-scheduled") { Description = "Suspend (true) or resume (false) scheduled actions" };
        var command = new Command("register", "Register the service as a scalable target, or change its bounds") { name, min, max, suspendIn, suspendOut, suspendScheduled };
        actions.Set(command, async (parse, context, ct) =>
        {
            var request = new RegisterScalableTargetRequest { ResourceId = Resource(context, parse.GetValue(name)!) };
            if (parse.GetValue(min) is { } low)
            {
                request.MinCapacity = low;
            }

            if (parse.GetValue(max) is { } high)
            {
                request.MaxCapacity = high;
            }

            if (parse.GetValue(suspendIn) is not null || parse.GetValue(suspendOut) is not null || parse.GetValue(suspendScheduled) is not null)
            {
                // Flags not given keep their value: read the current state first.
                var current = (await context.Scheduler.AutoScaling.DescribeScalableTargetsAsync(new DescribeScalableTargetsRequest { ResourceIds = { request.ResourceId } }, cancellationToken: ct))
                    .ScalableTargets.FirstOrDefault()?.SuspendedState ?? new SuspendedState();
                request.SuspendedState = new SuspendedState
                {
                    DynamicScalingInSuspended = parse.GetValue(suspendIn) ?? current.DynamicScalingInSuspended,
                    DynamicScalingOutSuspended = parse.GetValue(suspendOut) ?? current.DynamicScalingOutSuspended,
                    ScheduledScalingSuspended = parse.GetValue(suspendScheduled) ?? current.ScheduledScalingSuspended,
                };
            }

            var reply = await context.Scheduler.AutoScaling.RegisterScalableTargetAsync(request, cancellationToken: ct);
            context.Output.Say(reply.ScalableTargetArn);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Deregister(CommandActions actions)
    {
        var name = Name();
        var command = new Command("deregister", "Deregister the scalable target with its policies and scheduled actions (the count stays)") { name };
        actions.Set(command, async (parse, context, ct) =>
        {
            await context.Scheduler.AutoScaling.DeregisterScalableTargetAsync(new DeregisterScalableTargetRequest { ResourceId = Resource(context, parse.GetValue(name)!) }, cancellationToken: ct);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command DescribeTargets(CommandActions actions)
    {
        var name = OptionalName();
        var command = new Command("describe", "Show the cluster's scalable targets") { name };
        actions.Set(command, async (parse, context, ct) =>
        {
            var request = new DescribeScalableTargetsRequest { Cluster = context.Cluster };
            if (parse.GetValue(name) is { } service)
            {
                request.ResourceIds.Add(Resource(context, service));
            }

            var targets = (await context.Scheduler.AutoScaling.DescribeScalableTargetsAsync(request, cancellationToken: ct)).ScalableTargets;
            if (context.Output.IsJson)
            {
                context.Output.Json(targets);
                return ExitCodes.Success;
            }

            context.Output.Table(["SERVICE", "MIN", "MAX", "DESIRED", "SUSPENDED", "CREATED"], targets.Select(t => (IReadOnlyList<string>)
            [
                t.ResourceId.Split('/')[^1], Display.Num(t.MinCapacity), Display.Num(t.MaxCapacity), Display.Num(t.DesiredCount), Suspended(t.SuspendedState), Display.Time(t.CreationTime),
            ]));
            return ExitCodes.Success;
        });
        return command;
    }

    private static string Suspended(SuspendedState? s)
    {
        var parts = new List<string>();
        if (s?.DynamicScalingInSuspended == true)
        {
            parts.Add("scale-in");
        }

        if (s?.DynamicScalingOutSuspended == true)
        {
            parts.Add("scale-out");
        }

        if (s?.ScheduledScalingSuspended == true)
        {
            parts.Add("scheduled");
        }

        return parts.Count == 0 ? "-" : string.Join(",", parts);
    }

    private static Command PutTargetTracking(CommandActions actions)
    {
        var name = Name();
        var policy = new Option<string>("--policy-name") { Description = "The policy's name", Required = true };
        var cpu = new Option<double?>("--cpu") { Description = "Keep the service's average CPU utilization at this percent" };
        var memory = new Option<double?>("--memory") { Description = "Keep the service's average memory utilization at this percent" };
        var requests = new Option<double?>("--alb-requests") { Description = "Keep the requests per target per minute (ALBRequestCountPerTarget) of --target-group at this number" };
        var targetGroup = TargetGroupOption();
        var outCooldown = new Option<int?>("--scale-out-cooldown") { Description = "Seconds (default 300)" };
        var inCooldown = new Option<int?>("--scale-in-cooldown") { Description = "Seconds (default 300)" };
        var disableIn = new Option<bool>("--disable-scale-in") { Description = "The policy never removes tasks" };
        var command = new Command("put", "Create or replace a target tracking policy") { name, policy, cpu, memory, requests, targetGroup, outCooldown, inCooldown, disableIn };
        actions.Set(command, async (parse, context, ct) =>
        {
            var (metric, value) = (parse.GetValue(cpu), parse.GetValue(memory), parse.GetValue(requests)) switch
            {
                ({ } c, null, null) => ("ECSServiceAverageCPUUtilization", c),
                (null, { } m, null) => ("ECSServiceAverageMemoryUtilization", m),
                (null, null, { } r) => ("ALBRequestCountPerTarget", r),
                _ => throw new CliException("give one of --cpu PERCENT, --memory PERCENT or --alb-requests N --target-group NAME.", ExitCodes.Usage),
            };
            var configuration = new TargetTrackingConfiguration
            {
                PredefinedMetricType = metric,
                TargetValue = value,
                DisableScaleIn = parse.GetValue(disableIn),
                ResourceLabel = await ResourceLabelAsync(context, metric, parse.GetValue(targetGroup), ct),
            };
            if (parse.GetValue(outCooldown) is { } o)
            {
                configuration.ScaleOutCooldown = o;
            }

            if (parse.GetValue(inCooldown) is { } i)
            {
                configuration.ScaleInCooldown = i;
            }

            var reply = await context.Scheduler.AutoScaling.PutScalingPolicyAsync(new PutScalingPolicyRequest
            {
                PolicyName = parse.GetValue(policy)!,
                ResourceId = Resource(context, parse.GetValue(name)!),
                PolicyType = "TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration = configuration,
            }, cancellationToken: ct);
            context.Output.Say(reply.PolicyArn);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command PutStep(CommandActions actions)
    {
        var name = Name();
        var policy = new Option<string>("--policy-name") { Description = "The policy's name", Required = true };
        var metric = new Option<string>("--metric") { Description = "cpu, memory or alb-requests (requests per target per minute of --target-group)", DefaultValueFactory = _ => "cpu" };
        var targetGroup = TargetGroupOption();
        var threshold = new Option<double>("--threshold") { Description = "The alarm threshold, percent", Required = true };
        var comparison = new Option<string>("--comparison") { Description = ">=, >, < or <= (the alarm is in ALARM when metric COMPARISON threshold)", Required = true };
        var adjustment = new Option<string>("--adjustment-type") { Description = "ChangeInCapacity, PercentChangeInCapacity or ExactCapacity", DefaultValueFactory = _ => "ChangeInCapacity" };
        var steps = new Option<string[]>("--step") { Description = "LOWER:UPPER=ADJUSTMENT relative to the threshold, a bound empty for none (0:20=1, 20:=3, :0=-1); repeatable", Required = true };
        var cooldown = new Option<int?>("--cooldown") { Description = "Seconds (default 300)" };
        var magnitude = new Option<int>("--min-adjustment-magnitude") { Description = "For PercentChangeInCapacity: the smallest change in tasks" };
        var command = new Command("put-step", "Create or replace a step scaling policy") { name, policy, metric, threshold, comparison, adjustment, steps, cooldown, magnitude, targetGroup };
        actions.Set(command, async (parse, context, ct) =>
        {
            var configuration = new StepScalingConfiguration
            {
                MetricType = parse.GetValue(metric) switch
                {
                    "cpu" => "ECSServiceAverageCPUUtilization",
                    "memory" => "ECSServiceAverageMemoryUtilization",
                    "alb-requests" => "ALBRequestCountPerTarget",
                    var other => other ?? "",
                },
                Threshold = parse.GetValue(threshold),
                ComparisonOperator = parse.GetValue(comparison) switch
                {
                    ">=" => "GreaterThanOrEqualToThreshold",
                    ">" => "GreaterThanThreshold",
                    "<" => "LessThanThreshold",
                    "<=" => "LessThanOrEqualToThreshold",
                    var other => other ?? "",
                },
                AdjustmentType = parse.GetValue(adjustment)!,
                MinAdjustmentMagnitude = parse.GetValue(magnitude),
            };
            if (parse.GetValue(cooldown) is { } seconds)
            {
                configuration.Cooldown = seconds;
            }

            configuration.StepAdjustments.AddRange((parse.GetValue(steps) ?? []).Select(ParseStep));
            configuration.ResourceLabel = await ResourceLabelAsync(context, configuration.MetricType, parse.GetValue(targetGroup), ct);
            var reply = await context.Scheduler.AutoScaling.PutScalingPolicyAsync(new PutScalingPolicyRequest
            {
                PolicyName = parse.GetValue(policy)!,
                ResourceId = Resource(context, parse.GetValue(name)!),
                PolicyType = "StepScaling",
                StepScalingPolicyConfiguration = configuration,
            }, cancellationToken: ct);
            context.Output.Say(reply.PolicyArn);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Option<string?> TargetGroupOption() =>
        new("--target-group") { Description = "For ALBRequestCountPerTarget: the target group (name or ARN) whose requests count" };

    /// <summary>
    /// Application Auto Scaling's resource label of a target group behind its load balancer
    /// (<c>app/NAME/ID/targetgroup/NAME/ID</c>, the ends of the two ARNs), so that nobody has to assemble it by hand.
    /// </summary>
    private static async Task<string> ResourceLabelAsync(CliContext context, string metric, string? targetGroup, CancellationToken ct)
    {
        if (metric != "ALBRequestCountPerTarget")
        {
            return targetGroup is null ? "" : throw new CliException("--target-group is only for --alb-requests (ALBRequestCountPerTarget).", ExitCodes.Usage);
        }

        if (targetGroup is null)
        {
            throw new CliException("ALBRequestCountPerTarget needs --target-group NAME: the group whose requests per target count.", ExitCodes.Usage);
        }

        var request = new DescribeTargetGroupsRequest();
        if (targetGroup.StartsWith("arn:", StringComparison.Ordinal))
        {
            request.TargetGroupArns.Add(targetGroup);
        }
        else
        {
            request.Names.Add(targetGroup);
        }

        var group = (await context.Scheduler.LoadBalancing.DescribeTargetGroupsAsync(request, cancellationToken: ct)).TargetGroups.Single();
        var lb = group.LoadBalancerArns.FirstOrDefault()
            ?? throw new CliException($"target group {targetGroup} has no load balancer: no requests reach it.", ExitCodes.Failure);
        const string LoadBalancerMarker = ":loadbalancer/";
        var at = lb.IndexOf(LoadBalancerMarker, StringComparison.Ordinal);
        return $"{lb[(at + LoadBalancerMarker.Length)..]}/{group.TargetGroupArn[(group.TargetGroupArn.LastIndexOf(':') + 1)..]}";
    }

    /// <summary><c>LOWER:UPPER=ADJUSTMENT</c>, either bound empty for none.</summary>
    internal static StepAdjustment ParseStep(string text)
    {
        var equals = text.LastIndexOf('=');
        var colon = equals < 0 ? -1 : text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0 || colon > equals || !int.TryParse(text.AsSpan(equals + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var change))
        {
            throw new CliException($"--step '{text}': expected LOWER:UPPER=ADJUSTMENT (e.g. 0:20=1, 20:=3, :0=-1).", ExitCodes.Usage);
        }

        var step = new StepAdjustment { ScalingAdjustment = change };
        var lower = text[..colon];
        var upper = text[(colon + 1)..equals];
        if (lower.Length > 0)
        {
            step.MetricIntervalLowerBound = Bound(lower, text);
        }

        if (upper.Length > 0)
        {
            step.MetricIntervalUpperBound = Bound(upper, text);
        }

        return step;

        static double Bound(string value, string text) =>
            double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var bound)
                ? bound
                : throw new CliException($"--step '{text}': '{value}' is not a number.", ExitCodes.Usage);
    }

    private static Command DeletePolicy(CommandActions actions)
    {
        var name = Name();
        var policy = new Option<string>("--policy-name") { Description = "The policy's name", Required = true };
        var command = new Command("delete", "Delete a scaling policy") { name, policy };
        actions.Set(command, async (parse, context, ct) =>
        {
            await context.Scheduler.AutoScaling.DeleteScalingPolicyAsync(new DeleteScalingPolicyRequest { ResourceId = Resource(context, parse.GetValue(name)!), PolicyName = parse.GetValue(policy)! }, cancellationToken: ct);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command DescribePolicies(CommandActions actions)
    {
        var name = OptionalName();
        var command = new Command("describe", "Show scaling policies") { name };
        actions.Set(command, async (parse, context, ct) =>
        {
            var request = new DescribeScalingPoliciesRequest { Cluster = context.Cluster };
            if (parse.GetValue(name) is { } service)
            {
                request.ResourceId = Resource(context, service);
            }

            var policies = (await context.Scheduler.AutoScaling.DescribeScalingPoliciesAsync(request, cancellationToken: ct)).ScalingPolicies;
            if (context.Output.IsJson)
            {
                context.Output.Json(policies);
                return ExitCodes.Success;
            }

            context.Output.Table(["SERVICE", "POLICY", "TYPE", "CONFIGURATION"], policies.Select(p => (IReadOnlyList<string>)
                [p.ResourceId.Split('/')[^1], p.PolicyName, p.PolicyType, Summary(p)]));
            return ExitCodes.Success;
        });
        return command;
    }

    private static string Summary(ScalingPolicy p)
    {
        if (p.TargetTrackingScalingPolicyConfiguration is { } t && p.PolicyType == "TargetTrackingScaling")
        {
            return $"{t.PredefinedMetricType} = {Display.Percent(t.TargetValue)}, cooldown out {t.ScaleOutCooldown}s in {t.ScaleInCooldown}s{(t.DisableScaleIn ? ", scale-in disabled" : "")}";
        }

        var s = p.StepScalingPolicyConfiguration;
        var steps = string.Join(" ", s.StepAdjustments.Select(a =>
            $"[{(a.HasMetricIntervalLowerBound ? Display.Number(a.MetricIntervalLowerBound) : "")}:{(a.HasMetricIntervalUpperBound ? Display.Number(a.MetricIntervalUpperBound) : "")}]={a.ScalingAdjustment:+0;-0;0}"));
        return $"{s.MetricType} {s.ComparisonOperator} {Display.Number(s.Threshold)}: {s.AdjustmentType} {steps}, cooldown {s.Cooldown}s";
    }

    private static Command PutSchedule(CommandActions actions)
    {
        var name = Name();
        var action = new Option<string>("--action-name") { Description = "The scheduled action's name", Required = true };
        var schedule = new Option<string>("--schedule") { Description = "at(2026-12-24T18:00:00), rate(6 hours) or cron(0 9 ? * MON-FRI *)", Required = true };
        var zone = new Option<string?>("--timezone") { Description = "IANA time zone the schedule is read in (default UTC)" };
        var min = new Option<int?>("--min") { Description = "The minimum it sets" };
        var max = new Option<int?>("--max") { Description = "The maximum it sets" };
        var start = new Option<DateTimeOffset?>("--start-time") { Description = "No occurrence before (ISO 8601)" };
        var end = new Option<DateTimeOffset?>("--end-time") { Description = "No occurrence after (ISO 8601)" };
        var command = new Command("put", "Create or replace a scheduled action") { name, action, schedule, zone, min, max, start, end };
        actions.Set(command, async (parse, context, ct) =>
        {
            var request = new PutScheduledActionRequest
            {
                ScheduledActionName = parse.GetValue(action)!,
                ResourceId = Resource(context, parse.GetValue(name)!),
                Schedule = parse.GetValue(schedule)!,
                Timezone = parse.GetValue(zone) ?? "",
            };
            if (parse.GetValue(min) is { } low)
            {
                request.MinCapacity = low;
            }

            if (parse.GetValue(max) is { } high)
            {
                request.MaxCapacity = high;
            }

            if (parse.GetValue(start) is { } from)
            {
                request.StartTime = Timestamp.FromDateTimeOffset(from);
            }

            if (parse.GetValue(end) is { } until)
            {
                request.EndTime = Timestamp.FromDateTimeOffset(until);
            }

            await context.Scheduler.AutoScaling.PutScheduledActionAsync(request, cancellationToken: ct);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command DeleteSchedule(CommandActions actions)
    {
        var name = Name();
        var action = new Option<string>("--action-name") { Description = "The scheduled action's name", Required = true };
        var command = new Command("delete", "Delete a scheduled action") { name, action };
        actions.Set(command, async (parse, context, ct) =>
        {
            await context.Scheduler.AutoScaling.DeleteScheduledActionAsync(new DeleteScheduledActionRequest { ResourceId = Resource(context, parse.GetValue(name)!), ScheduledActionName = parse.GetValue(action)! }, cancellationToken: ct);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command DescribeSchedules(CommandActions actions)
    {
        var name = OptionalName();
        var command = new Command("describe", "Show scheduled actions and when each fires next") { name };
        actions.Set(command, async (parse, context, ct) =>
        {
            var request = new DescribeScheduledActionsRequest { Cluster = context.Cluster };
            if (parse.GetValue(name) is { } service)
            {
                request.ResourceId = Resource(context, service);
            }

            var scheduled = (await context.Scheduler.AutoScaling.DescribeScheduledActionsAsync(request, cancellationToken: ct)).ScheduledActions;
            if (context.Output.IsJson)
            {
                context.Output.Json(scheduled);
                return ExitCodes.Success;
            }

            context.Output.Table(["SERVICE", "ACTION", "SCHEDULE", "TIMEZONE", "MIN", "MAX", "NEXT"], scheduled.Select(a => (IReadOnlyList<string>)
            [
                a.ResourceId.Split('/')[^1], a.ScheduledActionName, a.Schedule, a.Timezone,
                a.HasMinCapacity ? Display.Num(a.MinCapacity) : "-", a.HasMaxCapacity ? Display.Num(a.MaxCapacity) : "-", Display.Time(a.NextRun),
            ]));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Activities(CommandActions actions)
    {
        var name = OptionalName();
        var limit = new Option<int>("--limit") { Description = "How many of the newest (at most 50)", DefaultValueFactory = _ => 20 };
        var command = new Command("activities", "Show scaling activities with their causes, newest first") { name, limit };
        actions.Set(command, async (parse, context, ct) =>
        {
            var request = new DescribeScalingActivitiesRequest { Cluster = context.Cluster, MaxResults = parse.GetValue(limit) };
            if (parse.GetValue(name) is { } service)
            {
                request.ResourceId = Resource(context, service);
            }

            var activities = (await context.Scheduler.AutoScaling.DescribeScalingActivitiesAsync(request, cancellationToken: ct)).ScalingActivities;
            if (context.Output.IsJson)
            {
                context.Output.Json(activities);
                return ExitCodes.Success;
            }

            context.Output.Table(["TIME", "SERVICE", "FROM", "TO", "CAUSE"], activities.Select(a => (IReadOnlyList<string>)
                [Display.Time(a.StartTime), a.ResourceId.Split('/')[^1], Display.Num(a.FromCount), Display.Num(a.ToCount), a.Cause]));
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary><c>berth service metrics</c>.</summary>
    public static Command Metrics(CommandActions actions)
    {
        var name = Name();
        var command = new Command("metrics", "Show a service's average CPU and memory utilization (what target tracking reads)") { name };
        actions.Set(command, async (parse, context, ct) =>
        {
            var reply = await context.Scheduler.Metrics.GetServiceMetricsAsync(new GetServiceMetricsRequest { Cluster = context.Cluster, ServiceName = parse.GetValue(name)! }, cancellationToken: ct);
            if (context.Output.IsJson)
            {
                context.Output.Json(reply);
                return ExitCodes.Success;
            }

            context.Output.Fields(
            [
                ("ECSServiceAverageCPUUtilization", reply.HasCpuUtilization ? Display.Percent(reply.CpuUtilization) : "no data"),
                ("ECSServiceAverageMemoryUtilization", reply.HasMemoryUtilization ? Display.Percent(reply.MemoryUtilization) : "no data"),
                ("Tasks reporting", Display.Num(reply.TasksReporting)),
                ("Desired / running", $"{reply.DesiredCount} / {reply.RunningCount}"),
                .. reply.RequestCountPerTarget.Select(r => ("ALBRequestCountPerTarget", $"{Display.Number(r.RequestCountPerTarget)} ({Display.Num(r.RequestsPerMinute)} requests in the last minute over {Display.Num(r.Targets)} targets of {r.TargetGroupArn})")),
            ]);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary><c>berth task stats</c>.</summary>
    public static Command Stats(CommandActions actions)
    {
        var tasks = new Argument<string[]>("task") { Description = "Task ids or ARNs (default: every task with a sample)", Arity = ArgumentArity.ZeroOrMore };
        var service = new Option<string?>("--service") { Description = "Only this service's tasks" };
        var command = new Command("stats", "Show tasks' newest CPU and memory sample from their agents") { tasks, service };
        actions.Set(command, async (parse, context, ct) =>
        {
            var request = new GetTaskStatsRequest { Cluster = context.Cluster, ServiceName = parse.GetValue(service) ?? "" };
            request.Tasks.AddRange(parse.GetValue(tasks) ?? []);
            var stats = (await context.Scheduler.Metrics.GetTaskStatsAsync(request, cancellationToken: ct)).Tasks;
            if (context.Output.IsJson)
            {
                context.Output.Json(stats);
                return ExitCodes.Success;
            }

            context.Output.Table(["TASK", "SERVICE", "CPU", "CPU %", "MEMORY", "MEM %", "SAMPLED"], stats.Select(s => (IReadOnlyList<string>)
            [
                s.TaskId, s.ServiceName.Length > 0 ? s.ServiceName : "-",
                $"{Display.Number(s.CpuUnits)}/{(s.CpuReserved > 0 ? Display.Num(s.CpuReserved) : "1024")}", Display.Percent(s.CpuUtilization),
                $"{Display.Number(s.MemoryMib)}/{Display.Num(s.MemoryReserved)} MiB", Display.Percent(s.MemoryUtilization), Display.Time(s.SampledAt),
            ]));
            return ExitCodes.Success;
        });
        return command;
    }
}
