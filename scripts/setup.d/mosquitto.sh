#!/usr/bin/env bash
# Mosquitto from Debian, for the MQTT health tests (they start their own broker on a loopback port, with
# TLS, and stop it). The packaged service is not started.
set -euo pipefail
if command -v mosquitto >/dev/null || [[ -x /usr/sbin/mosquitto ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "mosquitto: not installed and not root; run: sudo apt-get install -y mosquitto" >&2
  exit 1
fi
echo "mosquitto: installing from Debian"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends mosquitto >/dev/null
# The package may start its own broker on 1883; the tests use their own ports, and nothing needs it running.
(service mosquitto stop || true) >/dev/null 2>&1
echo "mosquitto: $(/usr/sbin/mosquitto -h 2>/dev/null | head -1)"
