using System.CommandLine;
using Berth.Cli.Common;
using Berth.Scheduler.V1;

namespace Berth.Cli.CapacityProviders;

/// <summary>
/// <c>berth capacity-provider create|update|describe|delete</c>: capacity providers (ECS) over the cluster's host groups.
/// The cluster's own list and default strategy are <c>berth cluster put-capacity-providers</c>.
/// </summary>
internal static class CapacityProviderCommands
{
    public static Command Build(CommandActions actions)
    {
        var command = new Command("capacity-provider", "Capacity providers: host groups that tasks are placed on and that managed scaling sizes (ECS)");
        command.Add(Create(actions));
        command.Add(Update(actions));
        command.Add(Describe(actions));
        command.Add(Delete(actions));
        return command;
    }

    private sealed class Settings
    {
        public Option<string?> Scaling { get; } = new("--managed-scaling") { Description = "ENABLED (the default) or DISABLED" };

        public Option<int?> Target { get; } = new("--target-capacity") { Description = "Target CapacityProviderReservation in percent, 1-100 (default 100)" };

        public Option<int?> MinStep { get; } = new("--min-step") { Description = "Fewest hosts per scaling step, 1-10000 (default 1)" };

        public Option<int?> MaxStep { get; } = new("--max-step") { Description = "Most hosts per scaling step, 1-10000 (default 10000)" };

        public Option<int?> Warmup { get; } = new("--warmup") { Description = "Seconds a new host does not count toward the metrics (default 300)" };

        public Option<string?> Protection { get; } = new("--termination-protection") { Description = "ENABLED (hosts with tasks are never scaled in; needs managed scaling) or DISABLED (the default)" };

        public Option<string?> Draining { get; } = new("--managed-draining") { Description = "ENABLED (the default: drain a host before it goes) or DISABLED" };

        public void AddTo(Command command)
        {
            command.Add(Scaling);
            command.Add(Target);
            command.Add(MinStep);
            command.Add(MaxStep);
            command.Add(Warmup);
            command.Add(Protection);
            command.Add(Draining);
        }

        public AutoScalingGroupProvider Read(ParseResult parse, string group)
        {
            var scaling = new ManagedScaling { Status = Switch(parse.GetValue(Scaling), "--managed-scaling") };
            if (parse.GetValue(Target) is { } target)
            {
                scaling.TargetCapacity = target;
            }

            if (parse.GetValue(MinStep) is { } min)
            {
                scaling.MinimumScalingStepSize = min;
            }

            if (parse.GetValue(MaxStep) is { } max)
            {
                scaling.MaximumScalingStepSize = max;
            }

            if (parse.GetValue(Warmup) is { } warmup)
            {
                scaling.InstanceWarmupPeriod = warmup;
            }

            return new AutoScalingGroupProvider
            {
                AutoScalingGroupArn = group,
                ManagedScaling = scaling,
                ManagedTerminationProtection = Switch(parse.GetValue(Protection), "--termination-protection"),
                ManagedDraining = Switch(parse.GetValue(Draining), "--managed-draining"),
            };
        }

        // Case-insensitive on the command line; the API takes ECS's upper case.
        private static string Switch(string? value, string option) => value?.ToUpperInvariant() switch
        {
            null => "",
            "ENABLED" or "DISABLED" => value.ToUpperInvariant(),
            _ => throw new CliException($"{option} '{value}': expected ENABLED or DISABLED.", ExitCodes.Usage),
        };
    }

    private static Argument<string> Name() => new("name") { Description = "The capacity provider's name" };

    private static Command Create(CommandActions actions)
    {
        var name = Name();
        var group = new Option<string>("--host-group") { Description = "The host group (name or ARN) it wraps", Required = true };
        var settings = new Settings();
        var command = new Command("create", "Create a capacity provider over a host group of the cluster") { name, group };
        settings.AddTo(command);
        actions.Set(command, async (parse, context, ct) =>
        {
            var reply = await context.Scheduler.CapacityProviders.CreateCapacityProviderAsync(new CreateCapacityProviderRequest
            {
                Cluster = context.Cluster,
                Name = parse.GetValue(name)!,
                AutoScalingGroupProvider = settings.Read(parse, parse.GetValue(group)!),
            }, cancellationToken: ct);
            context.Output.Say(reply.CapacityProvider.CapacityProviderArn);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Update(CommandActions actions)
    {
        var name = Name();
        var settings = new Settings();
        var command = new Command("update", "Change a capacity provider's managed scaling, termination protection or draining (what is not given stays)") { name };
        settings.AddTo(command);
        actions.Set(command, async (parse, context, ct) =>
        {
            var wire = settings.Read(parse, "");
            if (wire.ManagedScaling.Status.Length == 0 && !wire.ManagedScaling.HasTargetCapacity && !wire.ManagedScaling.HasMinimumScalingStepSize
                && !wire.ManagedScaling.HasMaximumScalingStepSize && !wire.ManagedScaling.HasInstanceWarmupPeriod)
            {
                wire.ManagedScaling = null;
            }

            var reply = await context.Scheduler.CapacityProviders.UpdateCapacityProviderAsync(
                new UpdateCapacityProviderRequest { Cluster = context.Cluster, Name = parse.GetValue(name)!, AutoScalingGroupProvider = wire }, cancellationToken: ct);
            Print(context.Output, [reply.CapacityProvider]);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Describe(CommandActions actions)
    {
        var names = new Argument<string[]>("name") { Description = "Capacity providers (every one of the cluster when none)", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("describe", "Show capacity providers with their settings") { names };
        actions.Set(command, async (parse, context, ct) =>
        {
            var reply = await context.Scheduler.CapacityProviders.DescribeCapacityProvidersAsync(
                new DescribeCapacityProvidersRequest { Cluster = context.Cluster, CapacityProviders = { parse.GetValue(names) ?? [] } }, cancellationToken: ct);
            Print(context.Output, reply.CapacityProviders);
            foreach (var failure in reply.Failures)
            {
                context.Output.Error.WriteLine($"capacity provider '{failure.Arn}': {failure.Reason}");
            }

            return reply.Failures.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
        });
        return command;
    }

    private static Command Delete(CommandActions actions)
    {
        var name = Name();
        var command = new Command("delete", "Delete a capacity provider (refused while the cluster's capacity providers name it)") { name };
        actions.Set(command, async (parse, context, ct) =>
        {
            await context.Scheduler.CapacityProviders.DeleteCapacityProviderAsync(
                new DeleteCapacityProviderRequest { Cluster = context.Cluster, CapacityProvider = parse.GetValue(name)! }, cancellationToken: ct);
            return ExitCodes.Success;
        });
        return command;
    }

    private static void Print(CliOutput output, IReadOnlyCollection<CapacityProvider> providers)
    {
        if (output.IsJson)
        {
            output.Json(providers);
            return;
        }

        output.Table(["NAME", "HOST GROUP", "MANAGED SCALING", "TARGET", "STEP", "WARMUP", "TERMINATION PROTECTION", "DRAINING", "RESERVATION", "PROVISIONING"], providers.Select(p =>
        {
            var reservation = p.HasCapacityProviderReservation ? $"{p.CapacityProviderReservation}%" : "-";
            if (p.FargatePool is not null)
            {
                // FARGATE: no user group behind it, but Berth's pool, managed at 100 % without warm-up.
                return (IReadOnlyList<string>)[p.Name, "(FARGATE pool)", "ENABLED", "100%", "-", "0 s", "ENABLED", "ENABLED", reservation, $"{p.ProvisioningTasks}"];
            }

            var asg = p.AutoScalingGroupProvider;
            var s = asg.ManagedScaling;
            return (IReadOnlyList<string>)
            [
                p.Name, asg.AutoScalingGroupArn.Length > 0 ? asg.AutoScalingGroupArn[(asg.AutoScalingGroupArn.LastIndexOf('/') + 1)..] : "-",
                s.Status, $"{s.TargetCapacity}%", $"{s.MinimumScalingStepSize}-{s.MaximumScalingStepSize}", $"{s.InstanceWarmupPeriod} s",
                asg.ManagedTerminationProtection, asg.ManagedDraining,
                reservation, $"{p.ProvisioningTasks}",
            ];
        }));
        foreach (var pool in providers.Select(p => p.FargatePool).OfType<FargatePool>())
        {
            output.Out.WriteLine();
            output.Fields(
            [
                ("FARGATE pool", $"{pool.Hosts.Count} hosts (desired {pool.DesiredCapacity}, max {pool.MaxSize}); more hosts than its tasks need for {pool.IdleTimeoutSeconds} s retires the empty ones"),
                ("Last failure", pool.LastFailure is { } f ? $"{Display.Time(f.StartTime)} {f.Description}: {f.StatusMessage}" : "none"),
            ]);
            if (pool.Hosts.Count > 0)
            {
                output.Table(["HOST", "STATE", "ZONE", "CONTAINER INSTANCE", "LAUNCHED"], pool.Hosts.Select(h => (IReadOnlyList<string>)
                [
                    h.Name, h.LifecycleState, h.Zone.Length > 0 ? h.Zone : "-",
                    h.ContainerInstanceArn.Length > 0 ? h.ContainerInstanceArn[(h.ContainerInstanceArn.LastIndexOf('/') + 1)..] : "-", Display.Time(h.LaunchTime),
                ]));
            }
        }
    }
}
