#!/usr/bin/env bash
# Lighthouse scores of the member's log page (/app, enrolled) and the officer's ward
# dashboard (/reports/, signed in), on a phone (Lighthouse's default mobile emulation)
# with 3G-like throttling (RTT 300 ms, 700 kbit/s). Prints the four category scores per page
# and keeps the HTML/JSON reports and 360 × 740 screenshots in $LH_DIR.
#
#   bench/lighthouse.sh            # work dir /tmp/lh, port 5077
#   LH_DIR=/tmp/x PORT=5099 bench/lighthouse.sh
#
# Needs Node/npm (installs lighthouse@13 into $LH_DIR once), /usr/bin/chromium and the README's .venv (or VENV=path).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0
fi
LH_DIR=${LH_DIR:-/tmp/lh}
PORT=${PORT:-5077}
VENV=${VENV:-.venv}
BASE="http://127.0.0.1:$PORT"
mkdir -p "$LH_DIR/out"

if [ ! -x "$LH_DIR/node_modules/.bin/lighthouse" ]; then
  (cd "$LH_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } && npm install --silent lighthouse@13)
fi

export DATABASE_URL="sqlite:///$LH_DIR/demo.sqlite" FIELDAPP_ENV=development
rm -f "$LH_DIR/demo.sqlite"
"$VENV/bin/flask" --app app demo >/dev/null
"$VENV/bin/flask" --app app run -p "$PORT" >"$LH_DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs -o /dev/null "$BASE/login" && break; sleep 0.2; done

ENROL=$("$VENV/bin/flask" --app app enrol-link tv1a --base-url "$BASE" | grep -o 'http[^ ]*' | head -1)
rm -rf "$LH_DIR/profile"
"$VENV/bin/python" bench/lighthouse_prep.py "$BASE" "$ENROL" "$LH_DIR/profile" "$LH_DIR/shots"
HEADERS=$(python3 -c 'import json,sys; print(json.dumps({"Cookie": open(sys.argv[1]).read()}))' \
  "$LH_DIR/shots/cookie.txt")

for page in app reports; do
  url="$BASE/$page"; [ "$page" = reports ] && url="$BASE/reports/"
  CHROME_PATH=/usr/bin/chromium "$LH_DIR/node_modules/.bin/lighthouse" "$url" \
    --chrome-flags="--headless=new --no-sandbox --user-data-dir=$LH_DIR/profile" \
    --disable-storage-reset --extra-headers="$HEADERS" \
    --only-categories=accessibility,best-practices,performance,seo \
    --throttling.rttMs=300 --throttling.throughputKbps=700 \
    --output=json --output=html --output-path="$LH_DIR/out/$page" --quiet
  python3 - "$LH_DIR/out/$page.report.json" "$page" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = {k: round(v["score"] * 100) for k, v in r["categories"].items()}
print(f"{sys.argv[2]:8} {r['finalDisplayedUrl']}: accessibility {s['accessibility']}, "
      f"best practices {s['best-practices']}, performance (3G) {s['performance']}, SEO {s['seo']}")
PY
done
echo "reports: $LH_DIR/out/*.report.html; screenshots: $LH_DIR/shots/"
