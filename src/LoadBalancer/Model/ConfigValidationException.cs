namespace Berth.LoadBalancer.Model;

/// <summary>A configuration the balancer refuses; <see cref="Field"/> names the offending field in the wire format.</summary>
internal sealed class ConfigValidationException(string field, string problem)
    : Exception($"{field}: {problem}")
{
    public string Field { get; } = field;
}
