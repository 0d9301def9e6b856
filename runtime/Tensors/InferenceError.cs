namespace EdgeMl.Runtime.Tensors;

/// <summary>Why a request was not answered. Expected outcomes, returned rather than thrown.</summary>
public enum InferenceErrorKind
{
    /// <summary>The request does not fit the model's signature or limits.</summary>
    InvalidInput,

    /// <summary>No model of that name (or version) is being served.</summary>
    ModelNotFound,

    /// <summary>The model is known but has no ready version.</summary>
    NotReady,

    /// <summary>The model's queue is full; the caller should back off and retry.</summary>
    Overloaded,

    /// <summary>The caller cancelled the request.</summary>
    Canceled,

    /// <summary>ONNX Runtime failed while running a valid request.</summary>
    RuntimeFailure,
}

public sealed record InferenceError(InferenceErrorKind Kind, string Message)
{
    public static InferenceError Invalid(string message) => new(InferenceErrorKind.InvalidInput, message);

    public override string ToString() => $"{Kind}: {Message}";
}
