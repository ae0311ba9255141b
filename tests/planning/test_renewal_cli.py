"""``waterops renewal``: import a register, plan, export CSV and GeoJSON, compare."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from waterops.cli.main import EXIT_USER_ERROR, main
from waterops.planning.register import write_register_csv
from waterops.planning.synthetic_register import synthetic_pipes


def test_demo_register_plan_and_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    assert main(["renewal", "register", "demo", "--system", "demo"]) == 0
    assert "stored the demo register" in capsys.readouterr().out
    plan_csv, plan_geo = tmp_path / "plan.csv", tmp_path / "plan.geojson"
    assert main(["renewal", "plan", "--system", "demo", "--budget", "2e7", "--years", "2",
                 "--start-year", "2027", "--whole-roads", "--out", str(plan_csv),
                 "--geojson", str(plan_geo), "--time-limit", "20"]) == 0
    out = capsys.readouterr().out
    assert "plan 1" in out and "2027:" in out and "2028:" in out
    plan = pd.read_csv(plan_csv, dtype={"pipe_id": str, "road_id": str})
    assert len(plan) > 0 and set(plan["year"]) <= {1, 2}
    assert plan.groupby("year")["cost_yuan"].sum().max() <= 2e7 + 1e-3
    collection = json.loads(plan_geo.read_text(encoding="utf-8"))
    assert collection["coordinate_system"]["reprojected_to"] == "EPSG:4326"
    assert {f["properties"]["id"] for f in collection["features"]} == set(plan["pipe_id"])
    # the break model, checked on held-back years, and the plan's hydraulic benefit
    laws = tmp_path / "laws.csv"
    assert main(["renewal", "model", "--system", "demo", "--out", str(laws)]) == 0
    out = capsys.readouterr().out
    assert "held back 2023-2025" in out and "lift" in out
    assert set(pd.read_csv(laws)["material"]) >= {"CI", "DI", "*"}
    assert main(["renewal", "benefits", "1", "--duration", "2h"]) == 0
    out = capsys.readouterr().out
    assert "renewed_headloss_m" in out and "change" in out
    # the greedy baseline of the same budgets, then both side by side
    assert main(["renewal", "plan", "--system", "demo", "--budget", "2e7", "--years", "2",
                 "--start-year", "2027", "--whole-roads", "--method", "greedy"]) == 0
    capsys.readouterr()
    compare = tmp_path / "compare.csv"
    assert main(["renewal", "compare", "1", "2", "--out", str(compare)]) == 0
    table = pd.read_csv(compare).set_index("plan_id")
    assert table.loc[1, "risk_reduction_yuan"] >= table.loc[2, "risk_reduction_yuan"] - 1e-6
    assert (table["cost_yuan"] <= 4e7 + 1e-3).all()


def test_import_export_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    register = synthetic_pipes(50, seed=2)
    write_register_csv(register, tmp_path / "pipes.csv", tmp_path / "breaks.csv")
    assert main(["renewal", "register", "import", str(tmp_path / "pipes.csv"), "--breaks",
                 str(tmp_path / "breaks.csv"), "--system", "town",
                 "--history", "2011-2025"]) == 0
    assert "stored 50 pipes" in capsys.readouterr().out
    assert main(["renewal", "register", "export", "--system", "town", "--out",
                 str(tmp_path / "again.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "again.csv")) == 50
    bad = tmp_path / "bad.csv"
    bad.write_text("pipe_id,material,diameter_m,install_year,length_m,road_id,road_class\n"
                   "a,CI,0.1,1980,10,R1,branch\nb,CI,0.1,1980,10,R1,alley\n", encoding="utf-8")
    assert main(["renewal", "register", "import", str(bad), "--system", "x"]) == EXIT_USER_ERROR
    assert "bad.csv:3: unknown road class 'alley'" in capsys.readouterr().err
    assert main(["renewal", "plan", "--system", "town", "--budget", "1", "--budget", "2",
                 "--years", "3"]) == EXIT_USER_ERROR
    assert "one per year" in capsys.readouterr().err
    assert main(["renewal", "plan", "--system", "nowhere", "--budget", "1"]) == EXIT_USER_ERROR
    assert "no pipe register 'nowhere'" in capsys.readouterr().err
