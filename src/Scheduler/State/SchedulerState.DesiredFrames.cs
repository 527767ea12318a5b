using Berth.Scheduler.V1;

namespace Berth.Scheduler.State;

// Desired states for the agents' sessions, as pre-encoded frames (see DesiredStateFrame).
internal sealed partial class SchedulerState
{
    /// <summary>
    /// The instance's complete desired task set, or null when its version is not newer than <paramref name="sentVersion"/>.
    /// Under the lock only references to cached encodings are collected; the bytes are assembled by the caller.
    /// </summary>
    public DesiredStateFrame? BuildDesiredStateFrame(string instanceId, long sentVersion)
    {
        lock (_gate)
        {
            if (!_instances.TryGetValue(instanceId, out var instance) || instance.DesiredVersion <= sentVersion)
            {
                return null;
            }

            var tasks = new List<byte[]>(instance.Tasks.Count);
            var definitions = new List<byte[]>(1);
            var sources = new List<DesiredDefinition>(1);
            TaskDefinitionRecord? last = null;
            HashSet<TaskDefinitionRecord>? seen = null;
            foreach (var task in instance.Tasks)
            {
                if (!task.Durable)
                {
                    continue;
                }

                tasks.Add(task.EncodedDesired(ToDesired));
                // Most sets use one definition: compare with the previous one before paying for a set.
                if (ReferenceEquals(task.Definition, last))
                {
                    continue;
                }

                last = task.Definition;
                seen ??= [];
                if (seen.Add(task.Definition))
                {
                    definitions.Add(task.Definition.EncodedDocument());
                    sources.Add(new DesiredDefinition(task.Definition.Arn, task.Definition.DescribedJson));
                }
            }

            return new DesiredStateFrame(instance.DesiredVersion, instance.Id, instance.Status, tasks, definitions, sources);
        }
    }
}
