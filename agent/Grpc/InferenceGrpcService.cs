using System.Globalization;
using EdgeMl.Agent.Http;
using EdgeMl.Agent.Sequences;
using EdgeMl.Agent.Serving;
using EdgeMl.Runtime.Serving;
using EdgeMl.Runtime.Tensors;
using Grpc.Core;
using Inference;

namespace EdgeMl.Agent.Grpc;

/// <summary>
/// <c>inference.GRPCInferenceService</c>: the Open Inference Protocol's gRPC methods, answered by the same readiness
/// rule and the same prediction pipeline (capture, drift, metrics, drain) as the HTTP API, so both give the same
/// answers. Errors are status codes: INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE (not ready, shutting down),
/// RESOURCE_EXHAUSTED (queue full), UNAUTHENTICATED (<see cref="GrpcGate"/>).
/// </summary>
[BindServiceMethod(typeof(InferenceGrpcService), nameof(BindPooled))]
internal sealed class InferenceGrpcService(GrpcFrontDoor door) : GRPCInferenceService.GRPCInferenceServiceBase
{
    private static readonly Task<ServerLiveResponse> Live = Task.FromResult(new ServerLiveResponse { Live = true });

    /// <summary>The generated binding, with inference requests read into pooled buffers (<see cref="PooledInferRequests"/>).</summary>
    /// <remarks>The second parameter is the generated base type: Grpc.AspNetCore finds each method as an override of that type's.</remarks>
    public static void BindPooled(ServiceBinderBase binder, GRPCInferenceService.GRPCInferenceServiceBase? service) =>
        GRPCInferenceService.BindService(new PooledRequestBinder(binder), service);

    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) => Live;

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = door.Readiness.Server().IsReady });

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerMetadataResponse { Name = "edgeml", Version = AgentVersion.Value, Extensions = { "binary_tensor_data" } });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var readiness = door.Readiness.Model(request.Name, ParseVersion(request.Version));
        return readiness.State == ReadinessState.Unknown
            ? throw new RpcException(new Status(StatusCode.NotFound, readiness.Reason!))
            : Task.FromResult(new ModelReadyResponse { Ready = readiness.IsReady });
    }

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var wanted = ParseVersion(request.Version);
        var status = door.Pipeline.Engine.GetStatus(request.Name)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"Request for unknown model: '{request.Name}' is not found"));
        if (status.State != ModelState.Ready)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"model '{request.Name}' has no ready version"));
        }

        if (wanted is { } v && v != status.Version)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"Request for unknown model: '{request.Name}' version {v} is not found; the active version is {status.Version}"));
        }

        var response = new ModelMetadataResponse { Name = status.Name, Platform = "onnxruntime_onnx", Versions = { status.Version!.Value.ToString(CultureInfo.InvariantCulture) } };
        response.Inputs.AddRange(status.Signature!.Inputs.Select(Metadata));
        response.Outputs.AddRange(status.Signature.Outputs.Select(Metadata));
        return Task.FromResult(response);
    }

    public override async Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var (response, result) = await InferAsync(request, context.CancellationToken).ConfigureAwait(false);

        // The response wraps the answer's pooled output buffers and is written after this returns: they go back with the call.
        context.GetHttpContext().Response.RegisterForDispose(result);
        return response;
    }

    /// <summary>One answer per request, in the order sent; a failed request is answered with its error and the stream goes on (Triton's behaviour).</summary>
    public override async Task ModelStreamInfer(IAsyncStreamReader<ModelInferRequest> requestStream, IServerStreamWriter<ModelStreamInferResponse> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
        {
            ModelStreamInferResponse answer;
            InferenceResult? result = null;
            try
            {
                (var response, result) = await InferAsync(request, context.CancellationToken).ConfigureAwait(false);
                answer = new ModelStreamInferResponse { InferResponse = response };
            }
            catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
            {
                answer = new ModelStreamInferResponse { ErrorMessage = e.Status.Detail, InferResponse = new ModelInferResponse { Id = request.Id, ModelName = request.ModelName, ModelVersion = request.ModelVersion } };
            }

            // Written (serialized into the response), the answer's pooled output buffers go back.
            using (result)
            {
                await responseStream.WriteAsync(answer, context.CancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The answer, and the result whose pooled buffers it wraps (to dispose once the answer is written).</summary>
    private async Task<(ModelInferResponse Response, InferenceResult Result)> InferAsync(ModelInferRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (door.Drain is { } drain && !drain.TryEnter())
        {
            PooledInferRequests.Return(request);
            door.Metrics?.Refused();
            throw new RpcException(new Status(StatusCode.Unavailable, $"the agent is shutting down; try again in {(int)ShutdownDrain.RetryAfter.TotalSeconds} s"));
        }

        try
        {
            var version = ParseVersion(request.ModelVersion);
            if (!door.Pipeline.Engine.Holds(request.ModelName))
            {
                throw new RpcException(new Status(StatusCode.NotFound, $"model '{request.ModelName}' is not served"));
            }

            InferenceResult result;
            try
            {
                result = await door.Sequences.InferAsync(request.ModelName, GrpcTensors.ToRequest(request), version, Sequence(request), cancellationToken).ConfigureAwait(false);
            }
            catch (SequenceException e)
            {
                throw new RpcException(new Status(e.Unknown ? StatusCode.FailedPrecondition : StatusCode.InvalidArgument, e.Message));
            }

            return result.IsSuccess
                ? (GrpcTensors.ToResponse(request, result), result)
                : throw new RpcException(new Status(StatusOf(result.Error!.Kind), result.Error.Message));
        }
        finally
        {
            door.Drain?.Exit();

            // The answer is built; the engine, capture and drift are done with the request's tensors.
            PooledInferRequests.Return(request);
        }
    }

    /// <summary>The request's <c>sequence_id</c> (int64, uint64 or string parameter), <c>sequence_start</c> and <c>sequence_end</c>, as tritonclient sends them.</summary>
    private static SequenceParameters? Sequence(ModelInferRequest request)
    {
        var p = request.Parameters;
        var start = Flag(p, "sequence_start");
        var end = Flag(p, "sequence_end");
        var id = p.TryGetValue("sequence_id", out var value)
            ? value.ParameterChoiceCase switch
            {
                InferParameter.ParameterChoiceOneofCase.StringParam => value.StringParam,
                InferParameter.ParameterChoiceOneofCase.Int64Param when value.Int64Param >= 0 => value.Int64Param == 0 ? "" : value.Int64Param.ToString(CultureInfo.InvariantCulture),
                InferParameter.ParameterChoiceOneofCase.Uint64Param => value.Uint64Param == 0 ? "" : value.Uint64Param.ToString(CultureInfo.InvariantCulture),
                _ => throw GrpcTensors.Invalid("parameter 'sequence_id' must be a string or a non-negative integer"),
            }
            : "";
        if (id.Length == 0)
        {
            return start || end ? throw GrpcTensors.Invalid("sequence_start and sequence_end need a sequence_id") : null;
        }

        return new SequenceParameters(id, start, end);
    }

    private static bool Flag(Google.Protobuf.Collections.MapField<string, InferParameter> parameters, string key) =>
        parameters.TryGetValue(key, out var value) && (value.ParameterChoiceCase == InferParameter.ParameterChoiceOneofCase.BoolParam
            ? value.BoolParam
            : throw GrpcTensors.Invalid($"parameter '{key}' must be a bool"));

    internal static StatusCode StatusOf(InferenceErrorKind kind) => kind switch
    {
        InferenceErrorKind.InvalidInput => StatusCode.InvalidArgument,
        InferenceErrorKind.ModelNotFound => StatusCode.NotFound,
        InferenceErrorKind.NotReady => StatusCode.Unavailable,
        InferenceErrorKind.Overloaded => StatusCode.ResourceExhausted,
        InferenceErrorKind.Canceled => StatusCode.Cancelled,
        _ => StatusCode.Internal,
    };

    private static long? ParseVersion(string? text) =>
        string.IsNullOrEmpty(text) ? null
        : long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v
        : throw GrpcTensors.Invalid($"model version '{text}' must be a positive integer");

    private static ModelMetadataResponse.Types.TensorMetadata Metadata(TensorSpec spec) =>
        new() { Name = spec.Name, Datatype = spec.DataType.ToProtocolName(), Shape = { spec.Shape } };
}
