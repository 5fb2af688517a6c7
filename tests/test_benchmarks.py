"""The benchmark runs end to end on a small cohort and its comparisons hold (it is not a timed test)."""

from __future__ import annotations

from benchmarks import run
from benchmarks.measure import LineCount, Usage, by_part


def test_benchmark_runs_and_all_pipelines_agree(tmp_path, capsys):
    # patient 2 has companion guidelines' actions: every pipeline must read all guidelines alike
    code = run.main(["--patients", "40", "--peer-patients", "20", "--baseline-patients", "2", "--no-dask",
                     "--synthea", str(tmp_path / "none"), "--plots", str(tmp_path / "plots")])
    out = capsys.readouterr().out
    assert code == 0
    assert "batch runs identical to each other: True" in out
    assert "peer stack on 20: True" in out, out
    assert "disagreement" not in out
    rows = [line for line in out.splitlines() if line.startswith(("b12kg batch", "peer stack", "straightforward"))]
    assert [r.split()[0] for r in rows] == ["straightforward", "peer", "b12kg", "b12kg"]
    assert all(" 40 " in r for r in rows if r.startswith("b12kg"))


def test_parts_show_cost_and_memory_per_tenth():
    # 100 patients: the first sample (start-up) is left out, then 10 ms of CPU per patient, memory flat
    timeline = [(0.0, 1.0, 100 << 20, 10)] + [(t, 1.0 + 0.01 * (10 * t), 120 << 20, 10 + 10 * t) for t in range(1, 10)]
    parts = by_part(Usage(10.0, 2.0, 120 << 20, timeline), 100, parts=5)
    assert [done for done, _, _ in parts] == [20, 40, 60, 80, 100]
    assert all(abs(ms - 10.0) < 1e-9 for _, ms, _ in parts)
    assert all(mib == 120 for _, _, mib in parts)


def test_line_count_counts_only_complete_lines(tmp_path):
    path = tmp_path / "out.jsonl"
    count = LineCount(path)
    assert count() == 0
    path.write_bytes(b'{"a": 1}\n{"b"')
    assert count() == 1
    with path.open("ab") as handle:
        handle.write(b': 2}\n{"c": 3}\n')
    assert count() == 3


def test_rule_timing_names_every_rule_and_a_ratio(capsys):
    from benchmarks import rules

    assert rules.main(["--patients", "20", "--chunks", "5", "20", "--top", "100"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "derive/population.rq" in out and "interactions/repetition.rq" in out
    total = next(line for line in lines if line.startswith("all queries")).split()
    assert float(total[-3]) > 0 and float(total[-2]) > 0  # ms per patient at both chunk sizes
