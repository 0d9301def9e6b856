using EdgeMl.IoTHubSimulator;

// Runs the simulator on its own for local development: MQTT/TLS on --port (default 8883), an admin HTTP API
// on --http (default 127.0.0.1:8080), the CA written to --ca-out (default ./iothub-sim-ca.pem).
return await SimulatorHost.RunAsync(args);
