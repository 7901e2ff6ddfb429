# Sourced by the scripts that run a local cfaccess-emulator (demo.sh, and testacc-live.sh
# in its self-test): one start-up, one wait for the address it prints, one stop.

# start_emulator BINARY TOKEN LOG: starts BINARY on a free local port with the demo seed
# (the other teams' apps and policies), TOKEN as the only API token and no rate limit,
# its output in LOG. Sets emulator_pid and url (http://127.0.0.1:PORT). Returns 1, url
# empty, when the emulator exits or prints no address within about 10 s.
start_emulator() {
  local binary="$1" token="$2" log="$3"
  : >"$log" # exists before the background job opens it, for the poll below
  "$binary" --listen 127.0.0.1:0 --seed-demo --token "$token" --rate-limit off >"$log" 2>&1 &
  emulator_pid=$!
  url=""
  for _ in $(seq 1 100); do
    url="$(sed -n 's/.*cfaccess-emulator listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$log" | head -n 1)"
    [ -n "$url" ] && return 0
    kill -0 "$emulator_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# stop_emulator: stops the emulator start_emulator started, when it still runs; returns
# 1 when there was none to stop.
stop_emulator() {
  if [ -n "${emulator_pid:-}" ] && kill -0 "$emulator_pid" 2>/dev/null; then
    kill "$emulator_pid" 2>/dev/null || true
    wait "$emulator_pid" 2>/dev/null || true
    return 0
  fi
  return 1
}
