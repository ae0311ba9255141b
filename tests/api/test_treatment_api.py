"""``/treatment``: dose ranges (GET and POST), held-back scores, outlet drift from the store."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from waterops.detection.treatment import synthetic_plant_history
from waterops.model.telemetry import Quantity, Sensor, WaterSystem
from waterops.service.treatment import PLANT_HISTORY_ENV, TreatmentService, read_plant_history
from waterops.store.telemetry_store import TelemetryStore

from .conftest import T0, Api

BASE = "/api/v1/treatment"
RAW = {"turbidity_ntu": 25.0, "temperature_c": 12.0, "ammonia_mg_l": 0.3, "codmn_mg_l": 3.2}


@pytest.fixture(scope="module")
def fitted() -> TreatmentService:
    service = TreatmentService(None)
    service._fit()  # fit once for the module (2 years of records)
    return service


def test_recommendation_post_and_get(api: Api, fitted: TreatmentService) -> None:
    api.app.state.treatment = fitted
    engineer = api.staff("wqe1", "water_quality_engineer")
    answer = api.client.post(f"{BASE}/recommendation", headers=engineer, json=RAW)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    coag = body["coagulant"]
    assert coag["low_mg_l"] < coag["dose_mg_l"] < coag["high_mg_l"]
    # the synthetic plant's practice for this water: 6 x 2.5^0.4 x e^(0.036) x e^(0.018)
    assert coag["dose_mg_l"] == pytest.approx(6 * 2.5**0.4 * np.exp(0.036 + 0.018), rel=0.05)
    assert body["ozone"]["dose_mg_l"] == pytest.approx(0.35 + 0.22 * 3.2 + 0.6 * 0.3, rel=0.05)
    assert body["history_source"].startswith("synthetic") and body["history_records"] == 2920
    assert {v["target"] for v in body["validations"]} == {"coagulant_mg_l", "ozone_mg_l"}
    assert all(0.8 < v["coverage"] < 1.0 for v in body["validations"])
    same = api.client.get(f"{BASE}/recommendation", headers=engineer, params=RAW)
    assert same.status_code == 200 and same.json()["coagulant"] == coag
    wide = api.client.post(f"{BASE}/recommendation", headers=engineer, json=RAW | {"level": 0.99})
    assert wide.json()["coagulant"]["high_mg_l"] > coag["high_mg_l"]


def test_roles_and_validation(api: Api, fitted: TreatmentService) -> None:
    api.app.state.treatment = fitted
    assert api.client.post(f"{BASE}/recommendation", json=RAW).status_code == 401
    agent = api.staff("agent9", "service_agent")
    assert api.client.post(f"{BASE}/recommendation", headers=agent, json=RAW).status_code == 403
    dispatcher = api.staff("disp9", "dispatcher")
    bad = api.client.post(f"{BASE}/recommendation", headers=dispatcher,
                          json=RAW | {"turbidity_ntu": -3})
    assert bad.status_code == 422
    assert api.client.post(f"{BASE}/recommendation", headers=dispatcher,
                           json=RAW | {"bromide": 1}).status_code == 422


def test_outlet_drift_from_the_store(api: Api, fitted: TreatmentService) -> None:
    store = TelemetryStore(api.services.accounts.engine)
    store.upsert_systems([WaterSystem("city", "city")])
    store.upsert_sensors([Sensor("TU-WTP1-CLEARWELL", "city", Quantity.TURBIDITY),
                          Sensor("CL-WTP1-CLEARWELL", "city", Quantity.CHLORINE)])
    start = T0 - timedelta(days=7)
    times = np.arange(np.datetime64(start.replace(tzinfo=None), "s"),
                      np.datetime64(T0.replace(tzinfo=None), "s"), np.timedelta64(900, "s"))
    days = (times - times[0]).astype("timedelta64[s]").astype(float) / 86_400
    rng = np.random.default_rng(3)
    store.write_reading_arrays("TU-WTP1-CLEARWELL", times, 0.2 + 0.04 * days
                               + rng.normal(0, 0.01, len(days)))
    store.write_reading_arrays("CL-WTP1-CLEARWELL", times, 0.8 + rng.normal(0, 0.02, len(days)))
    api.app.state.treatment = TreatmentService(None, store, clock=api.clock)
    engineer = api.staff("wqe2", "water_quality_engineer")
    answer = api.client.get(f"{BASE}/outlet-drift", headers=engineer,
                            params={"horizon_days": 30})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["hours_seen"] == {"turbidity": 168, "free_chlorine": 168}
    assert [(f["quantity"], f["state"]) for f in body["flags"]] == [("turbidity", "trending")]
    flag = body["flags"][0]
    assert flag["slope_per_day"] == pytest.approx(0.04, rel=0.1)
    assert flag["bound"] == 1.0 and "GB 5749-2022" in flag["clause"]


def test_history_file(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    history = synthetic_plant_history(days=60, seed=2)
    path = folder / "plant.csv"
    history.rename_axis("time").to_csv(path)
    back = read_plant_history(path)
    assert len(back) == len(history)
    assert np.allclose(back["coagulant_mg_l"], history["coagulant_mg_l"])
    monkeypatch.setenv(PLANT_HISTORY_ENV, str(path))
    assert TreatmentService.from_environment().history_source == str(path)
    path.write_text(path.read_text().replace("time,", "when,", 1))
    with pytest.raises(Exception, match="missing column"):
        read_plant_history(path)
