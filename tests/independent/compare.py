#!/usr/bin/env python3
"""Run b12kg and the independent reader over the same records and print where they disagree.

    compare.py [--as-of YYYY-MM-DD] [--in-population] [--b12kg CMD] [--save DIR] PATH...

PATH: FHIR Bundles (.json) or Bulk Data folders (.ndjson). Without --as-of, each NAME.json
takes its as-of date and extra arguments from NAME.expected.json beside it (the contract
examples and tests/cases); files are grouped by (as-of, arguments) and each group is one
`b12kg batch` run. Patients are matched by source file (and by patient id in Bulk folders).
Where NAME.expected.json exists, each side's departures from it are printed too (labelled
"expected"), as a check on the reader itself; agreement is judged between the two tools.
"""
import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reader_v3

ROOT = Path(__file__).resolve().parents[2]
# data_quality codes the contract names (C3, C5, C6); others are extras and only listed.
CONTRACT_DQ = {"censored-result", "b12-dose-below-guideline", "dose-unknown", "therapy-lapsed", "no-baseline",
               "condition-unrecognised-code", "unconfirmed-diagnosis", "age-unknown",
               "medication-unrecognised-code", "stale-record", "record-outdated", "preliminary-result",
               "status-not-a-result", "value-from-text", "value-absent", "date-from-issued"}


def fields(doc):
    """The compared fields of one assessment (b12kg's or the reader's)."""
    if "rejected" in doc or "internal_error" in doc:
        return {"rejected": True}
    pop = doc.get("population") or {}
    status = doc.get("b12_status") or {}
    fu = doc.get("follow_up")
    therapy = (doc.get("record") or {}).get("b12_therapy") or {}
    dq = [d for d in doc.get("data_quality") or [] if isinstance(d, dict)]
    b12 = status.get("serum_b12_ng_per_l")
    return {
        "rejected": False,
        "population.in": pop.get("in"),
        "population.reason": pop.get("reason"),
        "b12_status.value": status.get("value"),
        "b12_status.serum_b12_ng_per_l": None if b12 is None else round(float(b12), 1),
        "risk_factors": sorted(r.get("code") for r in doc.get("risk_factors") or []),
        "actions": sorted(r.get("action") for r in doc.get("recommendations") or []),
        "safety_actions": sorted(r.get("action") for r in doc.get("recommendations") or [] if r.get("safety") is True),
        "follow_up": None if fu is None else "present",
        "follow_up.due": (fu or {}).get("due"),
        "follow_up.overdue": (fu or {}).get("overdue"),
        "follow_up.results": sorted(str(r.get("fact")) for r in (fu or {}).get("results") or []),
        "record.b12_therapy.current": therapy.get("current"),
        "data_quality.codes": sorted({d.get("code") for d in dq} & CONTRACT_DQ),
        # listed, not judged: codes beyond the contract, and informational fields
        "_extra_dq": sorted({d.get("code") for d in dq} - CONTRACT_DQ),
        "_dq": sorted(f"{d.get('code')}:{d.get('fact')}" for d in dq),
        "_newest_fact": (doc.get("record") or {}).get("newest_fact"),
        "_therapy": f"{therapy.get('route')} since {therapy.get('since')}",
    }


def against_expected(f, exp):
    """A departure list in check-contract's terms (its optional v3 keys included)."""
    out = []
    if f.get("rejected"):
        return [] if exp.get("exit_code") == 2 else ["rejected"]
    if exp.get("exit_code") == 2:
        return ["not rejected"]
    if exp.get("b12_status") is not None and f["b12_status.value"] != exp["b12_status"]:
        out.append(f"b12_status {f['b12_status.value']} (expected {exp['b12_status']})")
    out += [f"missing {a}" for a in exp.get("actions", {}).get("must", []) if a not in f["actions"]]
    out += [f"unexpected {a}" for a in exp.get("actions", {}).get("must_not", []) if a in f["actions"]]
    if "risk_factors" in exp and f["risk_factors"] != sorted(exp["risk_factors"]):
        out.append(f"risk_factors {f['risk_factors']} (expected {sorted(exp['risk_factors'])})")
    if "follow_up_due" in exp and f["follow_up.due"] != exp["follow_up_due"]:
        out.append(f"follow_up due {f['follow_up.due']} (expected {exp['follow_up_due']})")
    for key, field in (("population_in", "population.in"), ("population_reason", "population.reason"),
                       ("b12_therapy_current", "record.b12_therapy.current"),
                       ("follow_up_overdue", "follow_up.overdue")):
        if key in exp and f[field] != exp[key]:
            out.append(f"{field} {f[field]} (expected {exp[key]})")
    out += [f"safety {a} missing" for a in exp.get("safety_actions", []) if a not in f["safety_actions"]]
    out += [f"follow_up.results lacks {x}" for x in exp.get("follow_up_results_facts", [])
            if x not in f["follow_up.results"]]
    codes = set(f["data_quality.codes"]) | set(f["_extra_dq"])
    out += [f"data_quality lacks {c}" for c in exp.get("data_quality_codes", []) if c not in codes]
    out += [f"data_quality has {c}" for c in exp.get("no_data_quality_codes", []) if c in codes]
    return out


def run_b12kg(cmd, paths, as_of, args, save):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.jsonl"
        proc = subprocess.run([*cmd, "batch", *map(str, paths), "--as-of", as_of, "--output", str(out), "--workers", "1", "--no-progress", *args],
                              capture_output=True, text=True)
        if proc.returncode not in (0, 2):
            print(f"b12kg batch exit {proc.returncode}: {proc.stderr[-500:]}", file=sys.stderr)
        lines = [json.loads(x) for x in out.read_text().splitlines() if x.strip()] if out.exists() else []
        if save:
            (Path(save) / f"b12kg-{as_of}.jsonl").open("a").write(out.read_text() if out.exists() else "")
    return lines


def key_of(source, patient, bulk_dirs):
    """Match a line to its input: the file, or (folder, patient id) in a Bulk folder."""
    src = str(source).split(":")[0] if not Path(str(source)).exists() else str(source)
    for d in bulk_dirs:
        if src.startswith(str(d)):
            return (str(d), patient or f"(no patient: {source})")
    return (str(Path(src).resolve()), None)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--as-of")
    ap.add_argument("--in-population", action="store_true")
    ap.add_argument("--b12kg", default=str(ROOT / ".venv" / "bin" / "b12kg"))
    ap.add_argument("--save", help="folder for the raw JSON Lines of both tools")
    ap.add_argument("--verbose", action="store_true", help="also list informational fields")
    a = ap.parse_args(argv)
    if a.save:
        os.makedirs(a.save, exist_ok=True)
    groups, expected = defaultdict(list), {}
    for p in map(Path, a.paths):
        if p.name.endswith(".expected.json"):
            continue
        exp_file = p.with_name(p.name[:-5] + ".expected.json") if p.suffix == ".json" else None
        exp = json.loads(exp_file.read_text()) if exp_file and exp_file.exists() else None
        if exp:
            expected[str(p.resolve())] = exp
        as_of = a.as_of or (exp or {}).get("as_of")
        extra = tuple(exp.get("args", [])) if exp and not a.as_of else ()
        if a.in_population:
            extra = tuple(sorted(set(extra) | {"--in-population"}))
        groups[(as_of, extra)].append(p)

    total = disagree = 0
    for (as_of, extra), paths in sorted(groups.items()):
        bulk_dirs = [p.resolve() for p in paths if p.is_dir()]
        theirs = {}
        for line in run_b12kg(a.b12kg.split(), [p.resolve() for p in paths], as_of, list(extra), a.save):
            theirs[key_of(line.get("source"), line.get("patient"), bulk_dirs)] = line
        ours = {}
        for source, doc in reader_v3.run([p.resolve() for p in paths], dt.date.fromisoformat(as_of),
                                         "--in-population" in extra):
            ours[key_of(source, doc.get("patient"), bulk_dirs)] = doc
            if a.save:
                with (Path(a.save) / f"reader-{as_of}.jsonl").open("a") as fh:
                    fh.write(json.dumps({"source": source, **doc}) + "\n")
        for key in sorted(set(theirs) | set(ours), key=str):
            total += 1
            name = Path(key[0]).name + (f" patient {key[1]}" if key[1] else "")
            t, o = theirs.get(key), ours.get(key)
            if t is None or o is None:
                disagree += 1
                what = "" if t is None else f" ({str(t.get('rejected') or t.get('internal_error') or '')[:160]})"
                print(f"{name} @ {as_of}: only in {'reader' if t is None else 'b12kg'}{what}")
                continue
            ft, fo = fields(t), fields(o)
            diffs = [k for k in fo if not k.startswith("_") and ft.get(k) != fo.get(k)]
            exp = expected.get(key[0])
            notes = []
            if exp:
                for who, f in (("b12kg", ft), ("reader", fo)):
                    dev = against_expected(f, exp)
                    if dev:
                        notes.append(f"  expected vs {who}: " + "; ".join(dev))
            if diffs or notes or a.verbose:
                print(f"{name} @ {as_of}{' ' + ' '.join(extra) if extra else ''}:"
                      f" {'AGREE' if not diffs else f'{len(diffs)} field(s) differ'}")
            if diffs:
                disagree += 1
            for k in diffs:
                print(f"  {k}: b12kg={json.dumps(ft.get(k))} reader={json.dumps(fo.get(k))}")
            if diffs and "data_quality.codes" in diffs:
                print(f"    b12kg dq: {ft.get('_dq')}\n    reader dq: {fo.get('_dq')}")
            for n in notes:
                print(n)
            if a.verbose and not ft.get("rejected") and not fo.get("rejected"):
                for k in ("_extra_dq", "_newest_fact", "_therapy"):
                    if ft.get(k) != fo.get(k):
                        print(f"  (info) {k[1:]}: b12kg={ft.get(k)} reader={fo.get(k)}")
    print(f"{total} patients compared, {disagree} with disagreements")
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
