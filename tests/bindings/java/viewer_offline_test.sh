#!/bin/sh
# The java_example_viewer_offline test: the example crisis-plan viewer
# (mobile-bindings/android/examples/crisis-plan-viewer) signs in and shows the plan, then
# shows it again from the encrypted cache with the server stopped. Run under
# coplan_binding_test_harness (its environment); $1 is the viewer's launcher script.
set -eu
viewer=$1
dir=$COPLAN_TEST_DIR

control() {
  python3 - "$1" <<'PY'
import os, socket, sys
host, port = os.environ["COPLAN_TEST_CONTROL"].split(":")
with socket.create_connection((host, int(port)), timeout=120) as s:
    s.sendall((sys.argv[1] + "\n").encode())
    reply = s.makefile().readline().strip()
    if reply != "ok":
        sys.exit("harness: " + sys.argv[1] + ": " + reply)
PY
}

expect() {
  if ! printf '%s\n' "$2" | grep -q -- "$1"; then
    printf 'viewer_offline_test: expected "%s" in:\n%s\n' "$1" "$2" >&2
    exit 1
  fi
}

online=$("$viewer" --plaintext "$COPLAN_TEST_SERVER" "$dir/viewer.cache" "$dir/viewer.key" \
  "$COPLAN_TEST_ALEX" "$COPLAN_TEST_PASSWORD" "$COPLAN_TEST_PLAN")
printf '%s\n' "$online"
expect "Signed in as people/" "$online"
expect "Up to date" "$online"
expect "warning sign 0" "$online"

control stop
status=0
offline=$("$viewer" --plaintext "$COPLAN_TEST_SERVER" "$dir/viewer.cache" "$dir/viewer.key" \
  "$COPLAN_TEST_PLAN") || status=$?
control start
printf '%s\n' "$offline"
[ "$status" -eq 0 ] || { echo "viewer_offline_test: the offline run failed ($status)" >&2; exit 1; }
expect "offline: showing the copy on this device" "$offline"
expect "Last synced" "$offline"
expect "warning sign 2" "$offline"
echo "viewer_offline_test: passed"
