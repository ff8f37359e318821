#!/usr/bin/env bash
# Profile one service worker with py-spy while wrk loads one path.
#   bench/profile.sh <engine: postgres|sqlite> <path> [seconds=10] [grants=10000]
# Needs py-spy (PYSPY=/path/to/py-spy; e.g. `python3 -m venv /tmp/pyspy && /tmp/pyspy/bin/pip install py-spy`).
# SERVICE_APP=bench.experiments:NAME profiles an experiment instead of `placenet serve`.
# Writes bench/results/profile-<engine>-<slug>.txt (bench/fold.py's summary: own time by package and function),
# and the raw collapsed stacks next to it (.folded, for flamegraph.pl or speedscope).
set -euo pipefail
cd "$(dirname "$0")/.."
ENGINE=$1 PATHQ=$2 SECONDS_=${3:-10} GRANTS=${4:-10000}
PYSPY=${PYSPY:-/tmp/pyspy/bin/py-spy}
DATABASE_URL=$(python3 -c "import json;print(json.load(open('bench/data/$ENGINE-$GRANTS.json'))['database_url'])")
export DATABASE_URL
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
SLUG=$(echo "$PATHQ" | tr -c 'a-zA-Z0-9' '-' | cut -c1-40)
OUT=bench/results/profile-$ENGINE-$SLUG
if [ -n "${SERVICE_APP:-}" ]; then  # an experiment from bench/experiments.py instead of `placenet serve`
  OUT=$OUT-${SERVICE_APP##*:}
  .venv/bin/granian --interface asgi --factory --host 127.0.0.1 --port "$PORT" --workers 1 "$SERVICE_APP" >"$OUT.server.log" 2>&1 &
else
  .venv/bin/placenet serve --host 127.0.0.1 --port "$PORT" --workers 1 >"$OUT.server.log" 2>&1 &
fi
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT$PATHQ" && break; sleep 0.2; done
# The granian worker is the Python process below the server that serves requests.
WORKER=$(pgrep -P "$SERVER" | head -1)
wrk -t1 -c8 -d1s "http://127.0.0.1:$PORT$PATHQ" >/dev/null
wrk -t1 -c8 -d$((SECONDS_ + 2))s --latency "http://127.0.0.1:$PORT$PATHQ" >"$OUT.wrk.txt" &
LOAD=$!
sleep 1
"$PYSPY" record --pid "$WORKER" --duration "$SECONDS_" --rate 250 --format raw --output "$OUT.folded" --nonblocking >/dev/null 2>&1
wait $LOAD
.venv/bin/python bench/fold.py "$OUT.folded" 40 >"$OUT.txt"
grep -E "Requests/sec|50%|99%" "$OUT.wrk.txt" | tr -s ' ' >>"$OUT.txt"
echo "$OUT.txt"
