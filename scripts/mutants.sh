#!/usr/bin/env bash
# Mutation testing of the pure crates, on demand (not part of scripts/test.sh or CI): runs
# cargo-mutants (pinned, installed when missing) and prints caught / missed / unviable /
# timeout and the score, caught / (caught + missed), overall and per file.
#
#   bash scripts/mutants.sh                      # the default set (below)
#   bash scripts/mutants.sh --file crates/gateway/src/usage.rs --file crates/budget/src/lease.rs
#   bash scripts/mutants.sh --crate budget       # a whole pure crate
#   bash scripts/mutants.sh -j 2 --timeout 120 -- --list   # anything after -- goes to cargo-mutants
#
# Default set: the whole `budget` crate and the gateway files that decide auth, fallback,
# the output cap, usage and the OpenAI surface. --file / --crate replace it.
# Options: -j N (default 1: builds run one at a time, at nice 19, so other work keeps the
# machine), --timeout S (per test run; default 60, the pure tests take a few seconds),
# --output DIR (default: the workspace root, giving ./mutants.out/; git-ignored).
# cargo-mutants copies the tree and builds in its own target dir: it takes no lock on ./target.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

MUTANTS_VERSION=27.1.0
DEFAULT_FILES=(
  'crates/budget/src/**'
  crates/gateway/src/attempt.rs
  crates/gateway/src/answer.rs
  crates/gateway/src/credential.rs
  crates/gateway/src/usage.rs
  crates/gateway/src/access.rs
  crates/gateway/src/surface/openai.rs
)
PURE_CRATES=(budget gateway knowledge)

jobs=1
timeout=60
out="$root"
files=()
extra=()
usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    -f | --file) files+=("$2"); shift 2 ;;
    -c | --crate)
      [ -d "crates/$2/src" ] || { echo "no crate crates/$2" >&2; exit 2; }
      files+=("crates/$2/src/**"); shift 2 ;;
    -j | --jobs) jobs=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    -o | --output) out=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#files[@]} -gt 0 ] || files=("${DEFAULT_FILES[@]}")
for f in "${files[@]}"; do
  case "$f" in
    *'*'*) ;;
    *) [ -f "$f" ] || { echo "no such file: $f" >&2; exit 2; } ;;
  esac
done

if ! cargo mutants --version 2>/dev/null | grep -q " $MUTANTS_VERSION\$"; then
  echo "[mutants] installing cargo-mutants $MUTANTS_VERSION (several minutes on 2 cores, once)"
  nice -n 19 cargo install --locked cargo-mutants --version "$MUTANTS_VERSION"
fi

args=(--jobs "$jobs" --timeout "$timeout" --output "$out" --no-shuffle)
for p in "${PURE_CRATES[@]}"; do args+=(--package "$p"); done
for f in "${files[@]}"; do args+=(--file "$f"); done

echo "[mutants] cargo mutants ${args[*]} ${extra[*]:-}"
status=0
nice -n 19 cargo mutants "${args[@]}" "${extra[@]}" || status=$?
# cargo-mutants exits 2 when mutants are missed, 3 on timeouts: still a report. Others: failure.
case $status in 0 | 2 | 3) ;; *) echo "[mutants] cargo mutants failed ($status)" >&2; exit "$status" ;; esac

case " ${extra[*]:-} " in *" --list "* | *" --list-files "*) exit 0 ;; esac
dir="$out/mutants.out"
python3 - "$dir" <<'PY'
import collections, os, sys
d = sys.argv[1]
kinds = ["caught", "missed", "unviable", "timeout"]
per = collections.defaultdict(lambda: collections.Counter())
total = collections.Counter()
for k in kinds:
    path = os.path.join(d, k + ".txt")
    if not os.path.exists(path):
        continue
    for line in open(path):
        line = line.strip()
        if line:
            per[line.split(":", 1)[0]][k] += 1
            total[k] += 1
def row(name, c):
    viable = c["caught"] + c["missed"]
    score = f"{100 * c['caught'] / viable:.1f} %" if viable else "-"
    print(f"{name:<44} {c['caught']:>6} {c['missed']:>6} {c['unviable']:>8} {c['timeout']:>7} {score:>8}")
print(f"\n{'file':<44} {'caught':>6} {'missed':>6} {'unviable':>8} {'timeout':>7} {'score':>8}")
for name in sorted(per):
    row(name, per[name])
row("total", total)
print("\nscore = caught / (caught + missed); missed mutants:", os.path.join(d, "missed.txt"))
PY
exit 0
