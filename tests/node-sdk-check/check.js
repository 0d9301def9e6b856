'use strict';
// Drives the official Azure IoT Node.js SDK (azure-iot-device + azure-iot-device-mqtt) against the EdgeMl
// IoT Hub simulator. Prints one JSON line per step on stdout; the xunit test reacts to "ready" lines
// (pushing a desired patch, invoking a method) and asserts on both sides.
const fs = require('fs');
const { Client, ModuleClient, Message } = require('azure-iot-device');
const { Mqtt } = require('azure-iot-device-mqtt');

const say = (step, data) => process.stdout.write(JSON.stringify({ step, ...data }) + '\n');
const fail = (step, err) => { say('error', { at: step, message: String(err && err.message || err) }); process.exit(1); };
const guard = setTimeout(() => fail('timeout', 'the check did not finish in 90 s'), 90000);

function waitFor(emitter, event, predicate) {
  return new Promise((resolve) => {
    const listener = (value) => { if (predicate(value)) { resolve(value); } };
    emitter.on(event, listener);
  });
}

async function device() {
  const client = Client.fromConnectionString(process.env.DEVICE_CONNECTION_STRING, Mqtt);
  client.setOptions({ ca: fs.readFileSync(process.env.CA_FILE, 'utf8') });
  await client.open();
  say('device-connected');

  const twin = await client.getTwin();
  say('device-twin', { threshold: twin.properties.desired.threshold, desiredVersion: twin.properties.desired.$version });

  await new Promise((resolve, reject) => twin.properties.reported.update({ fromNode: true, fps: 9 }, (e) => (e ? reject(e) : resolve())));
  say('device-reported');

  const patched = waitFor(twin, 'properties.desired', (delta) => delta.pushed !== undefined);
  client.onDeviceMethod('echo', (request, response) => {
    response.send(200, { echo: request.payload, name: request.methodName }, (e) => { if (e) { fail('method-response', e); } });
  });
  say('device-ready');
  const delta = await patched;
  say('device-desired', { pushed: delta.pushed, version: delta.$version });

  const message = new Message(JSON.stringify({ label: 'cat', score: 0.9 }));
  message.contentType = 'application/json';
  message.contentEncoding = 'utf-8';
  message.messageId = 'node-1';
  message.correlationId = 'corr-1';
  message.properties.add('alert', 'high');
  message.properties.add('path', 'a/b c');
  await client.sendEvent(message);
  say('device-sent');
  return client;
}

async function module() {
  const client = await new Promise((resolve, reject) => ModuleClient.fromEnvironment(Mqtt, (e, c) => (e ? reject(e) : resolve(c))));
  await client.open();
  say('module-connected');
  const twin = await client.getTwin();
  await new Promise((resolve, reject) => twin.properties.reported.update({ moduleFromNode: 1 }, (e) => (e ? reject(e) : resolve())));
  say('module-reported', { desiredVersion: twin.properties.desired.$version, modelName: twin.properties.desired.modelName });
  const out = new Message('out-body');
  out.properties.add('kind', 'result');
  await client.sendOutputEvent('results', out);
  say('module-sent');
  return client;
}

(async () => {
  let step = 'device';
  try {
    const d = await device();
    step = 'method';
    // The test invokes "echo" after device-ready; wait for the method line to be acknowledged by the test.
    await new Promise((resolve) => process.stdin.on('data', (chunk) => { if (String(chunk).includes('method-done')) { resolve(); } }));
    step = 'module';
    const m = await module();
    await d.close();
    await m.close();
    say('done');
    clearTimeout(guard);
    process.exit(0);
  } catch (e) {
    fail(step, e);
  }
})();
