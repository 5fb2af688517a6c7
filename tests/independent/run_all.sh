#!/bin/sh
# Every comparison of the report, outputs in results/ (run from the worktree root; ~1 minute).
# The SMART Bulk sample is read from the fetched snapshot into /tmp, never committed.
set -u
HERE=tests/independent
OUT=$HERE/results
MAIN=${B12KG_MAIN:-/work/main}
MIRROR=/work/.mirror/smart-on-fhir+sample-bulk-fhir-datasets/repo
mkdir -p "$OUT"
cmp() { name=$1; shift; python3 $HERE/compare.py --verbose "$@" > "$OUT/$name.txt" 2>&1; tail -1 "$OUT/$name.txt" | sed "s/^/$name: /"; }
cmp examples /work/shared/contract/examples/*.json
cmp v3-cases $(git -C "$MAIN" diff --name-status 617387a 7649bd8 -- tests/cases | awk '$1=="A"{print $2}' \
    | sed 's/\.expected\.json$//; s/\.json$//; s|^tests/cases/|tests/cases/b12/|' | sort -u | sed "s|^|$MAIN/|; s|$|.json|")
cmp synthea-2026-11-24 --as-of 2026-11-24 /work/shared/realworld/synthea/*.json
cmp synthea-2021-04-01 --as-of 2021-04-01 /work/shared/realworld/synthea/*.json
cmp synthea-variants-2026-11-24 --as-of 2026-11-24 $MAIN/tests/realworld/synthea-variants/*.json
cmp hl7 $MAIN/tests/realworld/hl7/*.json
cmp probes $HERE/probes/*.json
if [ -d "$MIRROR" ]; then
  BULK=/tmp/smart-bulk-10-patients; mkdir -p $BULK
  for f in $(git -C $MIRROR ls-tree --name-only 10-patients); do
    git -C $MIRROR cat-file -e 10-patients:$f 2>/dev/null && git -C $MIRROR show 10-patients:$f > $BULK/$f
  done
  for d in 1994-01-15 1994-03-01 2024-08-06; do cmp smart-bulk-10-$d --as-of $d $BULK; done
fi
