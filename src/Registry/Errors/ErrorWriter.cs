using System.Buffers;
using System.Text.Json;

namespace Berth.Registry.Errors;

/// <summary>Writes the spec's error body. HEAD responses carry the status and headers only.</summary>
internal static class ErrorWriter
{
    public static async Task WriteAsync(HttpContext context, int statusCode, IReadOnlyList<RegistryError> errors)
    {
        var response = context.Response;
        response.StatusCode = statusCode;
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("errors");
            foreach (var error in errors)
            {
                json.WriteStartObject();
                json.WriteString("code", error.Code);
                json.WriteString("message", error.Message);
                if (error.Detail is not null)
                {
                    json.WriteString("detail", error.Detail);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    public static Task WriteAsync(HttpContext context, RegistryException exception)
    {
        foreach (var (name, value) in exception.Headers)
        {
            context.Response.Headers[name] = value;
        }

        return WriteAsync(context, exception.StatusCode, exception.Errors);
    }
}
