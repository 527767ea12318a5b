using System.Text.Json;

namespace Berth.Registry.Auth;

/// <summary>Errors of the auth endpoints in the distribution spec's format, so docker prints their message.</summary>
internal static class AuthErrors
{
    public const string Unauthorized = "UNAUTHORIZED";
    public const string Denied = "DENIED";
    public const string Unsupported = "UNSUPPORTED";
    public const string TooManyRequests = "TOOMANYREQUESTS";
    public const string NameInvalid = "NAME_INVALID";
    public const string NameUnknown = "NAME_UNKNOWN";

    public static async Task WriteAsync(HttpContext context, int status, string code, string message, object? detail = null)
    {
        var response = context.Response;
        response.StatusCode = status;
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(response.Body);
        writer.WriteStartObject();
        writer.WriteStartArray("errors");
        writer.WriteStartObject();
        writer.WriteString("code", code);
        writer.WriteString("message", message);
        if (detail is not null)
        {
            writer.WritePropertyName("detail");
            JsonSerializer.Serialize(writer, detail, detail.GetType(), AuthErrorsJson.Options);
        }

        writer.WriteEndObject();
        writer.WriteEndArray();
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted);
    }

    private static class AuthErrorsJson
    {
        public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
    }
}
