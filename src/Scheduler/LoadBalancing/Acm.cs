using System.Text.RegularExpressions;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.LoadBalancing;

/// <summary>
/// ACM's error names for imported certificates. Every refusal starts with ACM's exception name, then the field
/// (<c>ValidationException: private_key: The private key does not match the public key in the certificate.</c>), as the
/// load-balancing contract does with ELB's names.
/// </summary>
internal static partial class Acm
{
    public const string ArnPrefix = "arn:berth:acm:local:000000000000:certificate/";

    public static StateException Validation(string field, string message) => new(StateError.InvalidArgument, $"ValidationException: {field}: {message}");

    /// <summary>ACM's answer for a well-formed ARN (<see cref="Arn"/>) it does not hold.</summary>
    public static StateException NotFound(string field, string arn) =>
        new(StateError.NotFound, $"ResourceNotFoundException: {field}: Could not find certificate {arn}.");

    [GeneratedRegex("^arn:berth:acm:local:000000000000:certificate/[A-Za-z0-9-]{1,64}$")]
    private static partial Regex ArnRegex();

    public static StateException InUse(string arn) =>
        new(StateError.FailedPrecondition, $"ResourceInUseException: certificate_arn: Certificate {arn} in account 000000000000 is in use.");

    /// <summary>An ARN this scheduler could have made (others are refused before any lookup).</summary>
    public static void Arn(string field, string arn)
    {
        if (!ArnRegex().IsMatch(arn))
        {
            throw Validation(field, $"'{Elb.Printable(arn)}' is not a certificate ARN ({ArnPrefix}<id>).");
        }
    }
}
