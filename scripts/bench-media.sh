#!/usr/bin/env bash
# `make bench-media`: uploads and downloads a 50 MB file through a release build and
# reports how much the service's memory grew (VmRSS / VmHWM from /proc), to show that media
# streams instead of being held in memory; then processes one file of each kind (a
# 12-megapixel photo, an avatar, a 720p VP9 WebM that is transcoded, a 720p H.264 MP4 that
# is copied) and reports the time to `ready` and the memory it took (the service's peak
# growth; FFmpeg's peak resident size as the service measured it). Not a timed test;
# numbers go to bench/MEDIA.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

SIZE_MB="${SIZE_MB:-50}"
ensure_secantus
ensure_ffmpeg
[ "$ROOKERY_TEST_FFMPEG" = 1 ] || { echo "bench-media needs FFmpeg" >&2; exit 1; }
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
export BCRYPT_COST=4 RUST_LOG=warn,rookery::jobs::media=info ROOKERY__EMAIL__MAIL_DIR="$work/mail"
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
url="$(curl -sf -H "Authorization: Bearer $token" -F "file=@$work/video.mp4" "$base/api/media" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["url"])')"
rss_after_upload="$(kb VmRSS)"
curl -sf -o "$work/copy.mp4" "$base$url"
cmp -s "$work/video.mp4" "$work/copy.mp4" || { echo "the download differs from the upload" >&2; exit 1; }
rss_after_download="$(kb VmRSS)"
peak="$(kb VmHWM)"

# One file of each kind, made by FFmpeg, processed to `ready`.
ffmpeg -v error -y -f lavfi -i testsrc2=size=4000x3000 -frames:v 1 -q:v 3 "$work/photo.jpg"
ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30:duration=10 \
    -f lavfi -i sine=frequency=440:duration=10 -c:v libvpx-vp9 -b:v 1M -deadline realtime \
    -cpu-used 8 -c:a libopus "$work/clip.webm"
# The same H.264 clip at x264's default quality (about 2.7 Mb/s, over the default
# media.video_max_kbps of 2500, so transcoded) and capped at 2 Mb/s (copied).
ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30:duration=10 \
    -f lavfi -i sine=frequency=440:duration=10 -c:v libx264 -preset veryfast -pix_fmt yuv420p \
    -c:a aac -movflags +faststart "$work/clip.mp4"
ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30:duration=10 \
    -f lavfi -i sine=frequency=440:duration=10 -c:v libx264 -preset veryfast -pix_fmt yuv420p \
    -b:v 2M -maxrate 2M -bufsize 4M -c:a aac -movflags +faststart "$work/capped.mp4"
rate() { ffprobe -v error -select_streams v:0 -show_entries stream=bit_rate -of csv=p=0 "$1"; }
echo "H.264 clips: $(rate "$work/clip.mp4") and $(rate "$work/capped.mp4") b/s"
now_ms() { date +%s%3N; }
rows=""
process() { # label, path, upload route
    local label="$1" path="$2" route="$3" before start answer id status=processing
    before="$(kb VmHWM)"
    start="$(now_ms)"
    if [ "$route" = avatar ]; then
        answer="$(curl -sf -X PUT -H "Authorization: Bearer $token" -F "file=@$path" "$base/api/users/me/avatar")"
        id="$(python3 -c 'import json, sys; print(json.load(sys.stdin)["avatar_url"].split("/")[3].split("?")[0])' <<<"$answer")"
    else
        answer="$(curl -sf -H "Authorization: Bearer $token" -F "file=@$path" "$base/api/media")"
        id="$(python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])' <<<"$answer")"
    fi
    while [ "$status" = processing ]; do
        status="$(curl -sf -H "Authorization: Bearer $token" "$base/api/media/$id/info" |
            python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])')"
        [ "$status" = processing ] && sleep 0.05
    done
    [ "$status" = ready ] || { echo "$label ended $status" >&2; exit 1; }
    local ms=$(( $(now_ms) - start )) grown=$(( $(kb VmHWM) - before ))
    local ffmpeg_kib
    ffmpeg_kib="$(grep -o "media $id ready in [0-9]* ms (FFmpeg peak memory [0-9]* KiB)" "$work/app.log" |
        grep -o 'memory [0-9]*' | grep -o '[0-9]*' || true)"
    rows="$rows| $label | $(( $(stat -c %s "$path") / 1024 )) | $ms | $grown | ${ffmpeg_kib:-–} |
"
}
process "photo, 4000×3000 JPEG → preview" "$work/photo.jpg" media
process "avatar, 4000×3000 JPEG → preview + 3 sizes" "$work/photo.jpg" avatar
process "video, 10 s 720p VP9/Opus WebM → H.264/AAC (transcoded)" "$work/clip.webm" media
process "video, 10 s 720p H.264/AAC MP4 at $(( $(rate "$work/clip.mp4") / 1000 )) kb/s → transcoded (over media.video_max_kbps)" "$work/clip.mp4" media
process "video, 10 s 720p H.264/AAC MP4 at $(( $(rate "$work/capped.mp4") / 1000 )) kb/s → copied" "$work/capped.mp4" media

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

## Processing, one file of each kind

Time from the start of the upload to \`ready\` (an image is processed before its upload
answers; a video by its job, polled every 50 ms); the growth of the service's peak
resident memory (VmHWM) while it ran; and for videos the largest resident size any
FFmpeg run of the service has reached so far (\`getrusage(RUSAGE_CHILDREN)\`).

| file | KiB | ms to ready | service peak growth, KiB | FFmpeg peak, KiB |
|---|---|---|---|---|
$rows
REPORT
)"
echo "$report"
echo "$report" >bench/MEDIA.md
