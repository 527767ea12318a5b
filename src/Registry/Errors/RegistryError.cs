namespace Berth.Registry.Errors;

/// <summary>One entry of the distribution spec's error body: <c>{"code","message","detail"}</c>.</summary>
internal readonly record struct RegistryError(string Code, string Message, string? Detail = null);

/// <summary>The error codes of the OCI distribution spec (and the Docker registry v2 spec where OCI has none).</summary>
internal static class ErrorCodes
{
    public const string BlobUnknown = "BLOB_UNKNOWN";
    public const string BlobUploadInvalid = "BLOB_UPLOAD_INVALID";
    public const string BlobUploadUnknown = "BLOB_UPLOAD_UNKNOWN";
    public const string DigestInvalid = "DIGEST_INVALID";
    public const string ManifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN";
    public const string ManifestInvalid = "MANIFEST_INVALID";
    public const string ManifestUnknown = "MANIFEST_UNKNOWN";
    public const string NameInvalid = "NAME_INVALID";
    public const string NameUnknown = "NAME_UNKNOWN";
    public const string SizeInvalid = "SIZE_INVALID";
    public const string Unauthorized = "UNAUTHORIZED";
    public const string Denied = "DENIED";
    public const string Unsupported = "UNSUPPORTED";
    public const string TooManyRequests = "TOOMANYREQUESTS";

    // distribution's errcode.ErrorCodeUnavailable (503): a pull-through cache whose upstream cannot be reached.
    public const string Unavailable = "UNAVAILABLE";

    // Docker registry v2 codes that OCI dropped but clients still understand.
    public const string TagInvalid = "TAG_INVALID";
    public const string PaginationNumberInvalid = "PAGINATION_NUMBER_INVALID";
    public const string RangeInvalid = "RANGE_INVALID";
}

/// <summary>
/// Thrown by feature code to end a request with the spec's error response; the dispatcher writes it.
/// Only error paths pay for the exception.
/// </summary>
internal sealed class RegistryException : Exception
{
    public RegistryException(int statusCode, string code, string message, string? detail = null)
        : base(message)
    {
        StatusCode = statusCode;
        Errors = [new RegistryError(code, message, detail)];
    }

    public RegistryException(int statusCode, IReadOnlyList<RegistryError> errors)
        : base(errors.Count > 0 ? errors[0].Message : "registry error")
    {
        StatusCode = statusCode;
        Errors = errors;
    }

    public int StatusCode { get; }

    public IReadOnlyList<RegistryError> Errors { get; }

    /// <summary>Extra response headers that go with the error (a 416 tells the client where to resume).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    public static RegistryException NameInvalid(string detail) =>
        new(StatusCodes.Status400BadRequest, ErrorCodes.NameInvalid, "invalid repository name", detail);

    public static RegistryException NameUnknown(string name) =>
        new(StatusCodes.Status404NotFound, ErrorCodes.NameUnknown, "repository name not known to registry", name);

    public static RegistryException DigestInvalid(string detail) =>
        new(StatusCodes.Status400BadRequest, ErrorCodes.DigestInvalid, "provided digest did not match uploaded content", detail);

    public static RegistryException DigestMalformed(ReadOnlyMemory<char> value) =>
        new(StatusCodes.Status400BadRequest, ErrorCodes.DigestInvalid, "invalid digest", $"'{value}' is not a valid digest (sha256:<64 hex> or sha512:<128 hex>)");

    public static RegistryException BlobUnknown(string digest) =>
        new(StatusCodes.Status404NotFound, ErrorCodes.BlobUnknown, "blob unknown to registry", digest);

    public static RegistryException UploadUnknown(string id) =>
        new(StatusCodes.Status404NotFound, ErrorCodes.BlobUploadUnknown, "blob upload unknown to registry", id);

    public static RegistryException UploadInvalid(string detail) =>
        new(StatusCodes.Status400BadRequest, ErrorCodes.BlobUploadInvalid, "blob upload invalid", detail);

    public static RegistryException ManifestUnknown(string reference) =>
        new(StatusCodes.Status404NotFound, ErrorCodes.ManifestUnknown, "manifest unknown", reference);

    public static RegistryException ManifestInvalid(string detail) =>
        new(StatusCodes.Status400BadRequest, ErrorCodes.ManifestInvalid, "manifest invalid", detail);

    public static RegistryException TagInvalid(string detail) =>
        new(StatusCodes.Status400BadRequest, ErrorCodes.TagInvalid, "manifest tag did not match URI", detail);

    public static RegistryException Unsupported(string detail, int status = StatusCodes.Status405MethodNotAllowed) =>
        new(status, ErrorCodes.Unsupported, "the operation is unsupported", detail);

    public static RegistryException PaginationInvalid(string detail) =>
        new(StatusCodes.Status400BadRequest, ErrorCodes.PaginationNumberInvalid, "invalid number of results requested", detail);
}
