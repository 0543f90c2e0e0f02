#!/usr/bin/env bash
# Runs a bootstrap under the Lambda Runtime Interface Emulator, sends one
# API Gateway event, prints the response and Lambda's REPORT line.
# Usage: scripts/invoke.sh <aws-lambda-rie> <bootstrap> <event.json>
# The function runs on the embedded local data (KYC_BACKEND=memory,
# KYC_PROVIDER=sandbox) unless those are set in the environment.
set -euo pipefail
rie=$1 bootstrap=$2 event=$3
[ -f "$event" ] || { echo "no such event file: $event (see events/)" >&2; exit 2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port) api_port=$(free_port)
log=$(mktemp)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT

KYC_BACKEND=${KYC_BACKEND:-memory} KYC_PROVIDER=${KYC_PROVIDER:-sandbox} \
AWS_LAMBDA_FUNCTION_TIMEOUT=${AWS_LAMBDA_FUNCTION_TIMEOUT:-10} \
  "$rie" --runtime-interface-emulator-address "127.0.0.1:$port" --runtime-api-address "127.0.0.1:$api_port" \
  "$bootstrap" >"$log" 2>&1 &
pid=$!

url="http://127.0.0.1:$port/2015-03-31/functions/function/invocations"
for _ in $(seq 50); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  sleep 0.1
done
echo "== response"
curl -sS -X POST "$url" --data-binary @"$event"
echo
sleep 0.2
echo "== function log"
grep -v '^\(START\|END\|REPORT\)' "$log" | grep '^{' || true
echo "== REPORT"
grep "REPORT" "$log" || { echo "no REPORT line; emulator output:"; cat "$log"; exit 1; }
