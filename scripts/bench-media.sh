#!/usr/bin/env bash
# `make bench-media`: uploads and downloads a 50 MB video through a release build and
# reports how much the service's memory grew (VmRSS / VmHWM from /proc), to show that media
# streams instead of being held in memory. Not a timed test; numbers go to bench/MEDIA.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

SIZE_MB="${SIZE_MB:-50}"
ensure_secantus
cargo build --release --quiet

work="$(mktemp -d)"
app_pid=""
cleanup() {
    [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null
    stop_throwaway_database
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
start_memory_database "$work/db.log"

export ROOKERY_ENV=development MONGODB_URI="mongodb://127.0.0.1:$db_port" MONGODB_DATABASE=bench_media
export BCRYPT_COST=4 RUST_LOG=warn ROOKERY__EMAIL__MAIL_DIR="$work/mail"
export ROOKERY__MEDIA__MAX_VIDEO_BYTES=$(( (SIZE_MB + 1) * 1024 * 1024 ))
port="$(free_port)"
./target/release/rookery create-admin --username bench --email bench@example.com --password bench-pass-1 >/dev/null
PORT="$port" ./target/release/rookery serve >"$work/app.log" 2>&1 &
app_pid=$!
wait_for_port "$port" "$app_pid"
base="http://127.0.0.1:$port"

token="$(curl -sf "$base/api/auth/login" -d '{"login":"bench","password":"bench-pass-1"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access"])')"
{ printf '\0\0\0\030ftypisom\0\0\002\0isomiso2'; head -c "$((SIZE_MB * 1024 * 1024))" /dev/urandom; } >"$work/video.mp4"

kb() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$app_pid/status"; }
rss_start="$(kb VmRSS)"
id="$(curl -sf -H "Authorization: Bearer $token" -F "file=@$work/video.mp4" "$base/api/media" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')"
rss_after_upload="$(kb VmRSS)"
curl -sf -o "$work/copy.mp4" "$base/api/media/$id"
cmp -s "$work/video.mp4" "$work/copy.mp4" || { echo "the download differs from the upload" >&2; exit 1; }
rss_after_download="$(kb VmRSS)"
peak="$(kb VmHWM)"

report="$(cat <<REPORT
# Media memory check

- Date: $(date -u +%Y-%m-%dT%H:%M:%SZ); machine: $(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB
- Command: \`make bench-media\` (SIZE_MB=$SIZE_MB, release build, one instance, secantusd-rs on a throwaway folder)

| measurement | KiB |
|---|---|
| file size | $(( $(stat -c %s "$work/video.mp4") / 1024 )) |
| service RSS before | $rss_start |
| service RSS after the upload | $rss_after_upload |
| service RSS after the download | $rss_after_download |
| service peak RSS (VmHWM) | $peak |
| peak growth over the start | $(( peak - rss_start )) |
REPORT
)"
echo "$report"
echo "$report" >bench/MEDIA.md
