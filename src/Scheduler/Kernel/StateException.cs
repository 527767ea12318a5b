namespace Berth.Scheduler.Kernel;

/// <summary>Why a state operation was refused; the gRPC layer maps each to its status code.</summary>
internal enum StateError
{
    /// <summary>The request is malformed (INVALID_ARGUMENT).</summary>
    InvalidArgument,

    /// <summary>The resource does not exist (NOT_FOUND).</summary>
    NotFound,

    /// <summary>The resource exists (ALREADY_EXISTS).</summary>
    AlreadyExists,

    /// <summary>The resource is not in a state that allows this (FAILED_PRECONDITION).</summary>
    FailedPrecondition,

    /// <summary>The caller may not do this to this resource (PERMISSION_DENIED).</summary>
    PermissionDenied,

    /// <summary>The state could not be made durable (UNAVAILABLE).</summary>
    Unavailable,
}

/// <summary>A refused state operation, with a message for the user.</summary>
internal sealed class StateException(StateError error, string message) : Exception(message)
{
    public StateError Error { get; } = error;

    public static StateException NotFound(string message) => new(StateError.NotFound, message);

    public static StateException Invalid(string message) => new(StateError.InvalidArgument, message);

    public static StateException Precondition(string message) => new(StateError.FailedPrecondition, message);
}
