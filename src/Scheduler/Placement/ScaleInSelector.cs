using System.Collections.Immutable;
using Berth.Core.ClusterQuery;

namespace Berth.Scheduler.Placement;

/// <summary>
/// One live task of a task group as the scale-in choice sees it. <see cref="Stoppable"/> marks the candidates; the
/// others still count for balance (spread keeps the whole group even, not only the candidates).
/// </summary>
/// <param name="TaskId">The task id (the last tie-break).</param>
/// <param name="InstanceId">Where it runs.</param>
/// <param name="Reservation">What it holds there (binpack gives it back).</param>
/// <param name="Rank">The caller's own order, ahead of everything else: lower goes first (a duplicate after a reconnect, an unhealthy task).</param>
/// <param name="CreatedTicks">When it was created; among equals the newest goes first.</param>
/// <param name="Stoppable">Whether it may be chosen.</param>
internal readonly record struct ScaleInCandidate(string TaskId, string InstanceId, TaskReservation Reservation, int Rank, long CreatedTicks, bool Stoppable);

/// <summary>What a scale-in asks: how many tasks to stop, and the group's placement strategies and constraints.</summary>
internal sealed record ScaleInRequest
{
    /// <summary>How many to choose (fewer when fewer are stoppable).</summary>
    public required int Count { get; init; }

    /// <summary>The placement strategies of the service, in order.</summary>
    public IReadOnlyList<PlacementStrategy> Strategies { get; init; } = [];

    /// <summary>The constraints of the service (task definition's and its own).</summary>
    public IReadOnlyList<PlacementConstraint> Constraints { get; init; } = [];

    /// <summary>Seed for <c>random</c>; with a seed the choice is deterministic.</summary>
    public int? RandomSeed { get; init; }
}

/// <summary>
/// Chooses the tasks a scale-in (or a deployment retiring old tasks) stops, as ECS does: the mirror image of placement.
/// Tasks are chosen one after another, each choice updating the counts the next one sees, smallest first in this order:
/// <list type="number">
/// <item>the caller's <see cref="ScaleInCandidate.Rank"/>;</item>
/// <item>tasks whose instance breaks a constraint first (gone from the snapshot, outside a <c>memberOf</c> expression,
/// or sharing its instance with another task of the group under <c>distinctInstance</c>): constraints bind, so a task
/// that breaks one is the first to give up;</item>
/// <item>the strategy chain, each strategy breaking the ties of the ones before:
/// <c>spread(attribute:X)</c> stops from the value of X with the most tasks of the group (ECS: "maintains balance
/// across the values"); <c>spread(instanceId)</c> from the instance with the most; <c>binpack(cpu|memory)</c> from the
/// instance left with the most of that resource once the task is gone (ECS: "the container instance that has the most
/// available resources left after task termination", which is the host emptied soonest); <c>random</c> a uniformly random
/// task (nothing after it matters). An empty chain is ECS's service default for scale-in: balance across
/// <c>berth.zone</c>, then the instance with the most tasks of the group;</item>
/// <item>the newest task, then the highest task id.</item>
/// </list>
/// A pure function over an immutable snapshot, like <see cref="PlacementEngine"/>; cost O(chosen x tasks).
/// </summary>
internal static class ScaleInSelector
{
    private static readonly IReadOnlyList<PlacementStrategy> s_defaultChain =
        [PlacementStrategy.Spread("attribute:berth.zone"), PlacementStrategy.Spread("instanceId")];

    // Tasks on instances without the spread attribute share one bucket, as they do for placement.
    private const string NoValue = "\0";

    /// <summary>Returns the positions in <paramref name="tasks"/> of the tasks to stop, in the order chosen.</summary>
    public static ImmutableArray<int> Choose(ClusterSnapshot snapshot, IReadOnlyList<ScaleInCandidate> tasks, ScaleInRequest request)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(request);
        var state = new State(snapshot, tasks, request);
        var chosen = ImmutableArray.CreateBuilder<int>();
        while (chosen.Count < request.Count)
        {
            var best = -1;
            for (var i = 0; i < tasks.Count; i++)
            {
                if (tasks[i].Stoppable && !state.Chosen[i] && (best < 0 || state.Compare(i, best) < 0))
                {
                    best = i;
                }
            }

            if (best < 0)
            {
                break;
            }

            state.Choose(best);
            chosen.Add(best);
        }

        return chosen.ToImmutable();
    }

    /// <summary>The working counts: tasks per spread value and per instance, resources given back per instance.</summary>
    private sealed class State
    {
        private readonly ClusterSnapshot _snapshot;
        private readonly IReadOnlyList<ScaleInCandidate> _tasks;
        private readonly IReadOnlyList<PlacementStrategy> _chain;
        private readonly Dictionary<string, int>[] _perValue;
        private readonly Dictionary<string, int> _perInstance = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (long Cpu, long Memory)> _freed = new(StringComparer.Ordinal);
        private readonly Dictionary<string, ContainerInstanceView?> _views = new(StringComparer.Ordinal);
        private readonly Dictionary<string, bool> _outsideMemberOf = new(StringComparer.Ordinal);
        private readonly double[] _randomKeys;
        private readonly bool _distinct;
        private readonly ImmutableArray<ClusterQuery> _memberOf;

        public State(ClusterSnapshot snapshot, IReadOnlyList<ScaleInCandidate> tasks, ScaleInRequest request)
        {
            _snapshot = snapshot;
            _tasks = tasks;
            _chain = request.Strategies.Count == 0 ? s_defaultChain : request.Strategies;
            _distinct = request.Constraints.Any(c => c.Type == PlacementConstraintType.DistinctInstance);
            _memberOf = [.. request.Constraints.Where(c => c.Type == PlacementConstraintType.MemberOf).Select(c => c.Expression!)];
            Chosen = new bool[tasks.Count];
            _perValue = new Dictionary<string, int>[_chain.Count];
            for (var p = 0; p < _chain.Count; p++)
            {
                _perValue[p] = new Dictionary<string, int>(StringComparer.Ordinal);
            }

            var random = request.RandomSeed is { } seed ? new Random(seed) : new Random();
            _randomKeys = new double[tasks.Count];
            for (var i = 0; i < tasks.Count; i++)
            {
                _randomKeys[i] = random.NextDouble();
                Count(i, +1);
            }
        }

        public bool[] Chosen { get; }

        public void Choose(int i)
        {
            Chosen[i] = true;
            Count(i, -1);
            var task = _tasks[i];
            var (cpu, memory) = _freed.GetValueOrDefault(task.InstanceId);
            _freed[task.InstanceId] = (cpu + task.Reservation.Cpu, memory + task.Reservation.Memory);
        }

        /// <summary>Negative when task <paramref name="a"/> should stop before <paramref name="b"/>.</summary>
        public int Compare(int a, int b)
        {
            var x = _tasks[a];
            var y = _tasks[b];
            var c = x.Rank.CompareTo(y.Rank);
            if (c != 0)
            {
                return c;
            }

            // Breaking a constraint goes first (true before false).
            c = Violates(y).CompareTo(Violates(x));
            if (c != 0)
            {
                return c;
            }

            for (var p = 0; p < _chain.Count; p++)
            {
                var strategy = _chain[p];
                if (strategy.Type == PlacementStrategyType.Random)
                {
                    return _randomKeys[a].CompareTo(_randomKeys[b]);
                }

                // Every key below is "more goes first": compare y to x.
                c = strategy.Type switch
                {
                    PlacementStrategyType.Binpack => RemainingAfter(y, strategy.Field == "cpu").CompareTo(RemainingAfter(x, strategy.Field == "cpu")),
                    _ when strategy.SpreadAttribute is { } attribute => _perValue[p].GetValueOrDefault(ValueOf(y, attribute)).CompareTo(_perValue[p].GetValueOrDefault(ValueOf(x, attribute))),
                    _ => _perInstance.GetValueOrDefault(y.InstanceId).CompareTo(_perInstance.GetValueOrDefault(x.InstanceId)),
                };
                if (c != 0)
                {
                    return c;
                }
            }

            c = y.CreatedTicks.CompareTo(x.CreatedTicks);
            return c != 0 ? c : string.CompareOrdinal(y.TaskId, x.TaskId);
        }

        /// <summary>What stays on the instance of that resource once the task (and those chosen before on it) are gone.</summary>
        private long RemainingAfter(ScaleInCandidate task, bool cpu)
        {
            var view = View(task.InstanceId);
            var freed = _freed.GetValueOrDefault(task.InstanceId);
            return cpu
                ? (view?.RemainingCpu ?? 0L) + freed.Cpu + task.Reservation.Cpu
                : (view?.RemainingMemory ?? 0L) + freed.Memory + task.Reservation.Memory;
        }

        private bool Violates(ScaleInCandidate task)
        {
            if (View(task.InstanceId) is not { } view)
            {
                return true;
            }

            if (_distinct && _perInstance.GetValueOrDefault(task.InstanceId) > 1)
            {
                return true;
            }

            if (_memberOf.IsEmpty)
            {
                return false;
            }

            if (!_outsideMemberOf.TryGetValue(task.InstanceId, out var outside))
            {
                outside = !_memberOf.All(q => q.Matches(view));
                _outsideMemberOf[task.InstanceId] = outside;
            }

            return outside;
        }

        private void Count(int i, int delta)
        {
            var task = _tasks[i];
            _perInstance[task.InstanceId] = _perInstance.GetValueOrDefault(task.InstanceId) + delta;
            for (var p = 0; p < _chain.Count; p++)
            {
                if (_chain[p].SpreadAttribute is { } attribute)
                {
                    var value = ValueOf(task, attribute);
                    _perValue[p][value] = _perValue[p].GetValueOrDefault(value) + delta;
                }
            }
        }

        private string ValueOf(ScaleInCandidate task, string attribute) =>
            View(task.InstanceId) is { } view && view.Attributes.TryGetValue(attribute, out var value) && value is not null ? value : NoValue;

        private ContainerInstanceView? View(string instanceId)
        {
            if (!_views.TryGetValue(instanceId, out var view))
            {
                view = _snapshot.Find(instanceId);
                _views[instanceId] = view;
            }

            return view;
        }
    }
}
