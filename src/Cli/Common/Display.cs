using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;

namespace Berth.Cli.Common;

/// <summary>Short spellings of contract values for tables: ECS's words, not the proto enum names.</summary>
internal static class Display
{
    public static string Num(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A measured figure: at most one decimal.</summary>
    public static string Number(double value) => value.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A utilization in percent.</summary>
    public static string Percent(double value) => Number(value) + "%";

    public static string Status(LifecycleStatus status) =>
        status == LifecycleStatus.Unspecified ? "-" : status.ToString().ToUpperInvariant();

    public static string Status(ContainerInstanceStatus status) =>
        status == ContainerInstanceStatus.Unspecified ? "-" : status.ToString().ToUpperInvariant();

    public static string Health(HealthStatus health) =>
        health == HealthStatus.Unspecified ? "-" : health.ToString().ToUpperInvariant();

    public static string Time(Timestamp? time) => time is null ? "-" : Time(time.ToDateTimeOffset());

    /// <summary>Every table prints times one way: UTC, to the second.</summary>
    public static string Time(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A time an HTTP API sent as text (ISO 8601), printed as every table prints times; <paramref name="none"/> when absent.</summary>
    public static string Time(string? text, string none = "-") =>
        text is null ? none
        : DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var time) ? Time(time)
        : text;

    /// <summary>The last path segment of an ARN (<c>.../task/c/abc</c> -> <c>abc</c>).</summary>
    public static string ShortArn(string arn) => arn[(arn.LastIndexOf('/') + 1)..];

    /// <summary><c>family:revision</c> of a task-definition ARN.</summary>
    public static string TaskDefinition(string arn) => arn.Contains("task-definition/", StringComparison.Ordinal) ? ShortArn(arn) : arn;

    public static string Ports(IEnumerable<NetworkBinding> bindings) =>
        string.Join(",", bindings.Select(b => $"{b.HostPort}->{b.ContainerPort}/{b.Protocol}")) is { Length: > 0 } text ? text : "-";
}
