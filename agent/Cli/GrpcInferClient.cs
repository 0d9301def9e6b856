using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using EdgeMl.Agent.Grpc;
using EdgeMl.Runtime.Tensors;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Inference;

namespace EdgeMl.Agent.Cli;

/// <summary>
/// <c>edgeml infer --grpc</c>'s side of the service: tensors sent as <c>raw_input_contents</c>, answers read from raw or
/// typed contents, and every way a call can fail turned into the exit codes the HTTP verbs use.
/// </summary>
internal sealed class GrpcInferClient(AgentConnection connection) : IDisposable
{
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(connection.Url);

    public async Task<IReadOnlyList<TensorSpec>> InputsAsync(string model, long? version, CancellationToken cancellationToken)
    {
        var metadata = await CallAsync(() => new GRPCInferenceService.GRPCInferenceServiceClient(_channel)
            .ModelMetadataAsync(new ModelMetadataRequest { Name = model, Version = Version(version) }, Headers(), cancellationToken: cancellationToken).ResponseAsync, model);
        return [.. metadata.Inputs.Select(i => new TensorSpec(i.Name, TensorDataTypes.TryParse(i.Datatype, out var t) ? t : throw new AgentCallException(ExitCodes.AgentError, $"input '{i.Name}' has datatype '{i.Datatype}'"), [.. i.Shape]))];
    }

    public async Task<InferenceResult> InferAsync(string model, long? version, IReadOnlyList<InferenceTensor> inputs, CancellationToken cancellationToken)
    {
        var request = new ModelInferRequest { ModelName = model, ModelVersion = Version(version) };
        foreach (var input in inputs)
        {
            var tensor = new ModelInferRequest.Types.InferInputTensor { Name = input.Name, Datatype = input.DataType.ToProtocolName() };
            tensor.Shape.AddRange(input.Shape);
            request.Inputs.Add(tensor);
            request.RawInputContents.Add(input.DataType == TensorDataType.Bytes ? GrpcTensors.LengthPrefixed(input) : ByteString.CopyFrom(input.Data.Span));
        }

        var response = await CallAsync(() => new GRPCInferenceService.GRPCInferenceServiceClient(_channel).ModelInferAsync(request, Headers(), cancellationToken: cancellationToken).ResponseAsync, model);
        return InferenceResult.Success(response.ModelName, long.TryParse(response.ModelVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0, FromResponse(response));
    }

    public void Dispose() => _channel.Dispose();

    /// <summary>The outputs of a response, raw or typed.</summary>
    internal static IReadOnlyList<InferenceTensor> FromResponse(ModelInferResponse response)
    {
        var outputs = new List<InferenceTensor>();
        for (var i = 0; i < response.Outputs.Count; i++)
        {
            var output = response.Outputs[i];
            if (!TensorDataTypes.TryParse(output.Datatype, out var type))
            {
                throw new AgentCallException(ExitCodes.AgentError, $"output '{output.Name}' has datatype '{output.Datatype}'");
            }

            long[] shape = [.. output.Shape];
            if (response.RawOutputContents.Count > 0)
            {
                var raw = response.RawOutputContents[i].Memory;
                outputs.Add(type == TensorDataType.Bytes ? Protocol.InferRequestReader.ReadByteElements(output.Name, shape, raw) : InferenceTensor.FromBytes(output.Name, type, shape, raw));
                continue;
            }

            var c = output.Contents ?? new InferTensorContents();
            outputs.Add(type switch
            {
                TensorDataType.Bytes => InferenceTensor.FromElements(output.Name, shape, [.. c.BytesContents.Select(b => b.Memory)]),
                TensorDataType.Bool => InferenceTensor.FromBytes(output.Name, type, shape, c.BoolContents.Select(b => b ? (byte)1 : (byte)0).ToArray()),
                TensorDataType.Int8 => InferenceTensor.Create(output.Name, shape, c.IntContents.Select(v => (sbyte)v).ToArray()),
                TensorDataType.Int16 => InferenceTensor.Create(output.Name, shape, c.IntContents.Select(v => (short)v).ToArray()),
                TensorDataType.Int32 => InferenceTensor.Create(output.Name, shape, c.IntContents.ToArray()),
                TensorDataType.Int64 => InferenceTensor.Create(output.Name, shape, c.Int64Contents.ToArray()),
                TensorDataType.UInt8 => InferenceTensor.Create(output.Name, shape, c.UintContents.Select(v => (byte)v).ToArray()),
                TensorDataType.UInt16 => InferenceTensor.Create(output.Name, shape, c.UintContents.Select(v => (ushort)v).ToArray()),
                TensorDataType.UInt32 => InferenceTensor.Create(output.Name, shape, c.UintContents.ToArray()),
                TensorDataType.UInt64 => InferenceTensor.Create(output.Name, shape, c.Uint64Contents.ToArray()),
                TensorDataType.Fp64 => InferenceTensor.Create(output.Name, shape, c.Fp64Contents.ToArray()),
                _ => InferenceTensor.Create(output.Name, shape, c.Fp32Contents.ToArray()),
            });
        }

        return outputs;
    }

    private Metadata Headers() => connection.Token is { } token ? new Metadata { { "authorization", "Bearer " + token } } : [];

    private static string Version(long? version) => version?.ToString(CultureInfo.InvariantCulture) ?? "";

    private async Task<T> CallAsync<T>(Func<Task<T>> call, string model)
    {
        try
        {
            return await call();
        }
        catch (RpcException e)
        {
            throw e.StatusCode switch
            {
                StatusCode.Unavailable when e.Status.DebugException is HttpRequestException or SocketException => new AgentCallException(ExitCodes.AgentUnreachable,
                    $"no EdgeMl gRPC service answered at {connection.Url} ({e.Status.DebugException.Message}). Start the agent with 'edgeml run'; if its gRPC service listens elsewhere (EdgeMl:Grpc:Urls), pass --url."),
                StatusCode.Unauthenticated => new AgentCallException(ExitCodes.Unauthorized, connection.Token is null
                    ? $"the agent at {connection.Url} needs its token: pass --token TOKEN or set {AgentConnection.TokenVariable} (the agent's EdgeMl:Http:Token)"
                    : $"the agent at {connection.Url} refused the token given (--token or {AgentConnection.TokenVariable}); check it against the agent's EdgeMl:Http:Token"),
                StatusCode.NotFound => new AgentCallException(ExitCodes.NotFound, $"{model}: {e.Status.Detail}"),
                _ => new AgentCallException(ExitCodes.AgentError, $"the agent answered {e.StatusCode}: {e.Status.Detail}"),
            };
        }
    }
}
