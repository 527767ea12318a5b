using System.CommandLine;
using System.Text.Json.Nodes;
using Berth.Cli.Common;
using TaskDefinitionFields = Berth.Core.TaskDefinitions.TaskDefinitionFields;
using Berth.Scheduler.V1;

namespace Berth.Cli.TaskDefinitions;

/// <summary><c>berth taskdef register|list|describe|deregister</c>: ECS task definitions, as the JSON users already write.</summary>
internal static class TaskDefinitionCommands
{
    public static Command Build(CommandActions actions)
    {
        var command = new Command("taskdef", "Register, list, describe and deregister task definitions (ECS JSON)");

        var file = new Argument<string>("FILE") { Description = "An ECS RegisterTaskDefinition JSON file, or - for stdin" };
        var register = new Command("register", "Register a new revision from an ECS task-definition JSON file; prints family:revision") { file };
        actions.Set(register, async (parse, context, ct) =>
        {
            var path = parse.GetValue(file)!;
            string json;
            try
            {
                json = path == "-" ? await Console.In.ReadToEndAsync(ct) : await File.ReadAllTextAsync(path, ct);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
            {
                throw new CliException($"cannot read {path}: {e.Message}");
            }

            // Unknown fields register as they are (ECS JSON from elsewhere must), but a misspelling should not pass unseen.
            foreach (var unknown in TaskDefinitionFields.FindUnknown(json))
            {
                context.Output.Error.WriteLine($"warning: {unknown} (kept as written, unused by Berth)");
            }

            var reply = await context.Scheduler.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = json }, cancellationToken: ct);
            var definition = reply.TaskDefinition;
            if (context.Output.IsJson)
            {
                context.Output.Json(Document(definition));
            }
            else
            {
                context.Output.Say($"{definition.Family}:{definition.Revision}");
            }

            return ExitCodes.Success;
        });

        var family = new Option<string?>("--family") { Description = "Only this family" };
        var status = new Option<string>("--status") { Description = "ACTIVE (default), INACTIVE or ALL", DefaultValueFactory = _ => "ACTIVE" };
        status.AcceptOnlyFromAmong("ACTIVE", "INACTIVE", "ALL");
        var list = new Command("list", "List task-definition revisions") { family, status };
        actions.Set(list, async (parse, context, ct) =>
        {
            var arns = await SchedulerClient.AllPagesAsync<string>(async token =>
            {
                var page = await context.Scheduler.TaskDefinitions.ListTaskDefinitionsAsync(
                    new ListTaskDefinitionsRequest { FamilyPrefix = parse.GetValue(family) ?? string.Empty, Status = parse.GetValue(status)!, NextToken = token },
                    cancellationToken: ct);
                return (page.TaskDefinitionArns, page.NextToken);
            });
            if (context.Output.IsJson)
            {
                context.Output.Json(new JsonArray([.. arns.Select(a => (JsonNode)a)]));
            }
            else
            {
                context.Output.Table(["TASK DEFINITION", "ARN"], arns.Select(a => (IReadOnlyList<string>)[Display.TaskDefinition(a), a]));
            }

            return ExitCodes.Success;
        });

        var name = new Argument<string>("FAMILY[:REVISION]") { Description = "A family (latest ACTIVE revision), family:revision or an ARN" };
        var describe = new Command("describe", "Describe a revision (its ECS JSON with --output json)") { name };
        actions.Set(describe, async (parse, context, ct) =>
        {
            var definition = (await context.Scheduler.TaskDefinitions.DescribeTaskDefinitionAsync(
                new DescribeTaskDefinitionRequest { TaskDefinition = parse.GetValue(name) }, cancellationToken: ct)).TaskDefinition;
            if (context.Output.IsJson)
            {
                context.Output.Json(Document(definition));
                return ExitCodes.Success;
            }

            context.Output.Fields(
            [
                ("Task definition", $"{definition.Family}:{definition.Revision}"),
                ("ARN", definition.Arn),
                ("Status", definition.Status),
                ("Cpu", Display.Num(definition.Cpu)),
                ("Memory", $"{Display.Num(definition.Memory)} MiB"),
                ("Registered", Display.Time(definition.RegisteredAt)),
            ]);
            var containers = JsonNode.Parse(definition.TaskDefinitionJson)?["containerDefinitions"]?.AsArray() ?? [];
            context.Output.Out.WriteLine();
            context.Output.Table(
                ["CONTAINER", "IMAGE", "PORTS", "ESSENTIAL"],
                containers.Select(c => (IReadOnlyList<string>)
                [
                    (string?)c?["name"] ?? "-",
                    (string?)c?["image"] ?? "-",
                    string.Join(",", (c?["portMappings"]?.AsArray() ?? []).Select(p => $"{(int?)p?["hostPort"] ?? 0}->{(int?)p?["containerPort"]}")) is { Length: > 0 } ports ? ports : "-",
                    ((bool?)c?["essential"] ?? true) ? "yes" : "no",
                ]));
            return ExitCodes.Success;
        });

        var revision = new Argument<string>("FAMILY:REVISION") { Description = "The revision to mark INACTIVE" };
        var deregister = new Command("deregister", "Mark a revision INACTIVE (running tasks are not affected)") { revision };
        actions.Set(deregister, async (parse, context, ct) =>
        {
            var definition = (await context.Scheduler.TaskDefinitions.DeregisterTaskDefinitionAsync(
                new DeregisterTaskDefinitionRequest { TaskDefinition = parse.GetValue(revision) }, cancellationToken: ct)).TaskDefinition;
            if (context.Output.IsJson)
            {
                context.Output.Json(Document(definition));
            }
            else
            {
                context.Output.Say($"{definition.Family}:{definition.Revision} {definition.Status}");
            }

            return ExitCodes.Success;
        });

        command.Add(register);
        command.Add(list);
        command.Add(describe);
        command.Add(deregister);
        return command;
    }

    /// <summary>The ECS document as DescribeTaskDefinition prints it: <c>{"taskDefinition": {...}}</c>.</summary>
    private static JsonObject Document(TaskDefinition definition) => new() { ["taskDefinition"] = JsonNode.Parse(definition.TaskDefinitionJson) };
}
