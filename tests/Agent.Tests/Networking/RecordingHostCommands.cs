using Berth.Core.Networking;

namespace Berth.Agent.Tests.Networking;

/// <summary>A hand-written fake of the host tools: records every call and answers from a script.</summary>
internal sealed class RecordingHostCommands : IHostCommands
{
    public List<(string File, IReadOnlyList<string> Arguments, string? Input, IReadOnlyDictionary<string, string>? Environment)> Calls { get; } = [];

    /// <summary>Answers by the joined command line's prefix; the first match wins; otherwise success with no output.</summary>
    public List<(string Prefix, CommandResult Result)> Answers { get; } = [];

    /// <summary>Answers used once each, before <see cref="Answers"/>.</summary>
    public List<(string Prefix, CommandResult Result)> OnceAnswers { get; } = [];

    public IEnumerable<string> CommandLines => Calls.Select(c => string.Join(' ', [c.File, .. c.Arguments]));

    public Task<CommandResult> RunAsync(string fileName, IReadOnlyList<string> arguments, string? standardInput = null, IReadOnlyDictionary<string, string>? environment = null, CancellationToken cancellationToken = default)
    {
        Calls.Add((fileName, arguments, standardInput, environment));
        var line = string.Join(' ', [fileName, .. arguments]);
        var once = OnceAnswers.FindIndex(a => line.StartsWith(a.Prefix, StringComparison.Ordinal));
        if (once >= 0)
        {
            var result = OnceAnswers[once].Result;
            OnceAnswers.RemoveAt(once);
            return Task.FromResult(result);
        }

        var answer = Answers.FirstOrDefault(a => line.StartsWith(a.Prefix, StringComparison.Ordinal));
        return Task.FromResult(answer.Result ?? new CommandResult(0, string.Empty, string.Empty));
    }
}
