#!/usr/bin/python3
"""A Python client of the Open Inference Protocol, as tritonclient users run one: gRPC through grpcio (gRPC C-core,
what tritonclient.grpc is built on) and HTTP/1.1 with the binary extension through http.client, both keep-alive.

Run by the latency-remote harness (tests/EdgeMl.Benchmarks/RemoteLatencyHarness.cs) against the agent it started:
the paths take turns in rounds, and the script prints a markdown table of P50/P99/P99.9 per path and gRPC's
difference to HTTP at P50. Needs Debian's python3-grpcio and python3-grpc-tools (scripts/bench.sh installs them).
"""
import argparse
import http.client
import json
import os
import random
import struct
import sys
import tempfile
import time


def stubs(proto):
    """Compiles the agent's own .proto (agent/Grpc/grpc_predict_v2.proto) into a temporary folder and imports it."""
    from grpc_tools import protoc
    folder = tempfile.mkdtemp(prefix="edgeml-oip-py-")
    include = os.path.dirname(os.path.abspath(proto))
    if protoc.main(["protoc", f"-I{include}", f"--python_out={folder}", f"--grpc_python_out={folder}", os.path.abspath(proto)]) != 0:
        sys.exit(f"oip_latency: protoc failed on {proto}")
    sys.path.insert(0, folder)
    import grpc_predict_v2_pb2 as messages
    import grpc_predict_v2_pb2_grpc as services
    return messages, services


def percentile(samples, percent):
    ordered = sorted(samples)
    rank = percent / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--proto", required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--grpc-port", type=int, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--shape", required=True, help="comma-separated, FP32")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-round", type=int, default=100)
    args = parser.parse_args()

    import grpc
    messages, services = stubs(args.proto)
    shape = [int(d) for d in args.shape.split(",")]
    count = 1
    for d in shape:
        count *= d
    rng = random.Random(1)
    raw = struct.pack(f"<{count}f", *(rng.random() for _ in range(count)))

    header = json.dumps({
        "inputs": [{"name": args.input, "shape": shape, "datatype": "FP32", "parameters": {"binary_data_size": len(raw)}}],
        "outputs": [{"name": args.output, "parameters": {"binary_data": True}}],
    }, separators=(",", ":")).encode()
    body = header + raw
    connection = http.client.HTTPConnection("127.0.0.1", args.http_port)
    infer_path = f"/v2/models/{args.model}/infer"
    http_headers = {"Inference-Header-Content-Length": str(len(header)), "Content-Type": "application/octet-stream"}

    def http_binary():
        connection.request("POST", infer_path, body=body, headers=http_headers)
        response = connection.getresponse()
        data = response.read()
        if response.status != 200 or not data:
            raise RuntimeError(f"HTTP {response.status}: {data[:200]!r}")

    def http_floor():
        connection.request("GET", "/v2/health/live")
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"live: HTTP {response.status}")

    channel = grpc.insecure_channel(f"127.0.0.1:{args.grpc_port}")
    client = services.GRPCInferenceServiceStub(channel)
    request = messages.ModelInferRequest(
        model_name=args.model,
        inputs=[messages.ModelInferRequest.InferInputTensor(name=args.input, datatype="FP32", shape=shape)],
        outputs=[messages.ModelInferRequest.InferRequestedOutputTensor(name=args.output)],
        raw_input_contents=[raw])
    live = messages.ServerLiveRequest()

    def grpc_raw():
        if len(client.ModelInfer(request).raw_output_contents) != 1:
            raise RuntimeError("the gRPC answer has no raw output")

    def grpc_floor():
        if not client.ServerLive(live).live:
            raise RuntimeError("ServerLive said not live")

    paths = [
        ("Python http.client: HTTP v2 binary", http_binary),
        ("Python grpcio (C-core): gRPC ModelInfer, raw contents", grpc_raw),
        ("Python http.client floor: GET /v2/health/live", http_floor),
        ("Python grpcio floor: ServerLive", grpc_floor),
    ]
    samples = {name: [] for name, _ in paths}
    for _, call in paths:
        for _ in range(200):
            call()
    for _ in range(args.rounds):
        for name, call in paths:
            bucket = samples[name]
            for _ in range(args.per_round):
                started = time.perf_counter_ns()
                call()
                bucket.append((time.perf_counter_ns() - started) / 1000)

    print()
    print(f"Python client, {args.rounds * args.per_round} requests per path in rounds of {args.per_round} "
          f"(grpcio {grpc.__version__}, Python {sys.version.split()[0]}):")
    print()
    print("| path | P50 µs | P99 µs | P99.9 µs |")
    print("| --- | ---: | ---: | ---: |")
    for name, _ in paths:
        s = samples[name]
        print(f"| {name} | {percentile(s, 50):.1f} | {percentile(s, 99):.1f} | {percentile(s, 99.9):.1f} |")
    http_p50 = percentile(samples[paths[0][0]], 50)
    grpc_p50 = percentile(samples[paths[1][0]], 50)
    print(f"Python client: gRPC raw against HTTP binary at P50: {grpc_p50 - http_p50:+.1f} µs "
          f"(floors: gRPC {percentile(samples[paths[3][0]], 50):.1f}, HTTP {percentile(samples[paths[2][0]], 50):.1f} µs)")
    channel.close()
    connection.close()


if __name__ == "__main__":
    main()
