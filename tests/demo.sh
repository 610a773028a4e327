#!/usr/bin/env bash
# demo: build, start the bundled Deadline Cloud simulator, and run the exporter against it.
#   bash tests/demo.sh          runs until Ctrl-C; browse http://127.0.0.1:9753/metrics
#   bash tests/demo.sh --once   prints a sample of /metrics once every report has refreshed, then stops
set -euo pipefail
cd "$(dirname "$0")/.."

once=false
[ "${1:-}" = "--once" ] && once=true
listen=${DEMO_LISTEN:-127.0.0.1:9753}

bash tests/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

build/tests/simulator/deadline-cloud-simulator --port-file "$work/port" --quiet >/dev/null &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")

# A configuration for the simulator's farms, from the commented example's shape.
python3 - "$port" "$listen" > "$work/demo.conf" <<'PY'
import json, sys, urllib.request
port, listen = sys.argv[1], sys.argv[2]
farms = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/__sim/farms"))["farms"]
store = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/__sim/inventory"))["identityStoreId"]
print(f'web = {{ listen = "{listen}"; }};')
print(f'aws = {{ region = "us-west-2"; endpoint_url = "http://127.0.0.1:{port}"; }};')
print("farms = (")
print(",\n".join(f'  {{ id = "{f["farmId"]}"; queues = "all"; fleets = "all"; }}' for f in farms))
print(");")
print("""reports = (
  { name = "month_to_date"; window = "month"; group_by = [ "QUEUE_ID", "USAGE_TYPE" ]; interval = "1m"; },
  { name = "jobs_last_7d"; window = "7d"; group_by = [ "JOB_ID" ]; statistics = [ "SUM" ]; interval = "2m"; },
  { name = "fleets_today"; resources = "fleets"; window = "day"; group_by = [ "FLEET_ID", "INSTANCE_TYPE" ];
    interval = "1m"; },
  { name = "users_month"; window = "month"; group_by = [ "USER_ID" ]; statistics = [ "SUM" ]; interval = "1m";
    limit = 20; },
  # the month's spend as counters, for increase() over any time range (shares month_to_date's aggregation)
  { name = "spend"; window = "month"; group_by = [ "QUEUE_ID", "USAGE_TYPE" ]; statistics = [ "SUM" ];
    counter = true; interval = "1m"; },
  # spend per show and department, from the studio's job names, and per production, from the queue names
  { name = "by_show"; window = "month"; group_by = [ "JOB_ID", "USAGE_TYPE" ]; statistics = [ "SUM" ];
    counter = true; interval = "2m";
    labels = (
      { label = "show"; source = "job_name"; regex = "([a-z0-9]+)_.*"; replacement = "$1"; default = "unknown"; },
      { label = "department"; source = "job_name"; regex = ".*_(anim|comp|fx|lgt|lookdev)_.*"; replacement = "$1";
        default = "other"; },
      { label = "production"; source = "queue_name"; regex = "(.+) - .*"; replacement = "$1"; default = "unknown"; }
    );
    keep = [ "USAGE_TYPE" ]; }
);
inventory = { interval = "1m"; };
activity = { enabled = true; interval = "1m"; };""")
# user names from the simulator's identity store (IAM Identity Center's DescribeUser)
print(f'identity_store = {{ id = "{store}"; region = "us-west-2"; endpoint_url = "http://127.0.0.1:{port}"; }};')
PY

echo "demo: simulator on 127.0.0.1:$port, configuration in $work/demo.conf" >&2
build/daemon/deadline_cloud_exporter --check-config --config "$work/demo.conf" >&2

export AWS_ACCESS_KEY_ID=AKIDSIMULATOR AWS_SECRET_ACCESS_KEY=simulator-secret-key AWS_REGION=us-west-2
# STS too: the simulator answers GetCallerIdentity, which fills deadline_cloud_farm_info's account_id
export AWS_ENDPOINT_URL_STS="http://127.0.0.1:$port"
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DEADLINE
build/daemon/deadline_cloud_exporter --config "$work/demo.conf" &
pids+=($!)

for _ in $(seq 600); do
  curl -fsS "http://$listen/-/ready" >/dev/null 2>&1 && break
  kill -0 "${pids[1]}" 2>/dev/null || { echo "demo: the exporter stopped" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "http://$listen/-/ready" >/dev/null || { echo "demo: not ready after 60s" >&2; exit 1; }

echo "demo: ready. A few lines of http://$listen/metrics:" >&2
metrics=$(curl -fsS "http://$listen/metrics")
grep -E '^deadline_cloud_(usage_cost_usd\{|exporter_report_up)' <<<"$metrics" | head -n 8 || true
# Names: the inventory and the identity store are listed beside the first refresh, user by user, and the live
# state on its own thread; give them a moment (two of each, as many as are printed below).
for _ in $(seq 100); do
  metrics=$(curl -fsS "http://$listen/metrics")
  [ "$(grep -c '^deadline_cloud_user_info' <<<"$metrics")" -ge 2 ] &&
    grep -q '^deadline_cloud_queue_info' <<<"$metrics" &&
    grep -q '^deadline_cloud_exporter_activity_up{.*} 1' <<<"$metrics" && break
  sleep 0.2
done
for family in farm_info queue_info user_info budget_usage_usd 'usage_cost_usd_total\{[^}]*report="by_show"' \
  fleet_workers_by_status queue_tasks; do
  grep -E "^deadline_cloud_$family" <<<"$metrics" | grep -v ' 0$' | head -n 2 || true
done
if $once; then
  exit 0
fi
echo "demo: serving http://$listen/metrics — press Ctrl-C to stop." >&2
wait "${pids[1]}"
