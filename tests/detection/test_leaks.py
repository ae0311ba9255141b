"""Pure leak detection: the learned pressure reference, the online detector, minimum night
flow. Synthetic readings with known answers; no hydraulic model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from waterops.detection.leak_mnf import NightFlowSettings, detect_night_flow_leaks
from waterops.detection.leaks import (
    LeakDetectorSettings,
    LeakSignatures,
    OnlineLeakDetector,
    OnlineLeakMonitor,
    PressureReference,
    boundary_features,
    detect_leaks,
    held_out_spread,
)
from waterops.errors import ConfigError

STEP = pd.Timedelta(minutes=15)


def _times(days: float) -> pd.DatetimeIndex:
    return pd.date_range("2025-01-01", periods=int(days * 96), freq=STEP, tz="UTC")


def _network_like(days: float, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Pressures of 4 sensors driven by one inflow (head loss ~ Q²) and a tank level."""
    rng = np.random.default_rng(seed)
    t = _times(days)
    hours = (t.hour + t.minute / 60).to_numpy()
    inflow = 0.05 + 0.03 * np.sin(2 * np.pi * hours / 24) + 0.002 * rng.standard_normal(len(t))
    level = 3 + np.sin(2 * np.pi * hours / 24 + 1)
    loss = np.array([100.0, 400.0, 800.0, 1200.0])  # m per (m³/s)²
    pressures = 40 + level[:, None] - inflow[:, None] ** 2 * loss
    pressures += 0.002 * rng.standard_normal(pressures.shape)
    flows = pd.DataFrame({"inlet": inflow}, index=t)
    levels = pd.DataFrame({"T1": level}, index=t)
    return pd.DataFrame(pressures, index=t, columns=["a", "b", "c", "d"]), flows, levels


def test_reference_explains_normal_pressures_and_never_uses_a_sensor_itself() -> None:
    pressures, flows, _levels = _network_like(10)
    features = boundary_features(flows)
    reference = PressureReference.fit(pressures, features, ridge=1e-6)
    residual = pressures - reference.predict(pressures, features)
    assert residual.abs().max().max() < 0.02  # noise 0.002 m, range of pressures > 1 m
    for i, sensor in enumerate(reference.sensor_ids):
        assert reference.feature_names[i] == f"pressure:{sensor}"
        assert reference.coefficients[i, i] == 0.0


def test_reference_needs_more_rows_than_regressors() -> None:
    pressures, flows, _levels = _network_like(0.05)
    with pytest.raises(ConfigError, match="training rows"):
        PressureReference.fit(pressures, boundary_features(flows))


def _signatures() -> pd.DataFrame:
    """Three pipes each seen mostly by one of three sensors [m per m³/s]."""
    return pd.DataFrame({"P1": [-10.0, -1.0, 0.0], "P2": [0.0, -10.0, -1.0],
                         "P3": [-1.0, 0.0, -10.0]}, index=["s1", "s2", "s3"])


def _run(detector: OnlineLeakDetector, residual: pd.DataFrame) -> list[tuple[str, pd.Timestamp]]:
    out = []
    for time, row in residual.iterrows():
        alarm = detector.update(pd.Timestamp(str(time)), row.to_numpy())
        if alarm is not None:
            out.append((alarm.pipe_id, alarm.detected_at))
    return out


def test_online_detector_raises_each_leak_once_on_its_pipe_and_ignores_a_repair() -> None:
    settings = LeakDetectorSettings(window_s=6 * 3600, confirm_s=3600, threshold=5.0)
    spread = np.full(3, 0.001)  # m: a 1 L/s leak moves its sensor by 10 spreads
    detector = OnlineLeakDetector(_signatures(), spread, settings)
    t = _times(6)
    residual = pd.DataFrame(0.0, index=t, columns=["s1", "s2", "s3"])
    leak_2 = t >= t[96]          # 2 L/s on P2 from day 1, repaired on day 4
    leak_2 &= t < t[4 * 96]
    leak_3 = t >= t[2 * 96]      # 1 L/s on P3 from day 2 on
    residual += np.outer(leak_2, _signatures()["P2"] * 0.002)
    residual += np.outer(leak_3, _signatures()["P3"] * 0.001)
    alarms = _run(detector, residual)
    assert [pipe for pipe, _ in alarms] == ["P2", "P3"]
    # suspected after confirm_s, raised one averaging window later
    assert alarms[0][1] == t[96] + pd.Timedelta(hours=7)
    assert alarms[1][1] == t[2 * 96] + pd.Timedelta(hours=7)


def test_online_detector_stays_quiet_on_noise() -> None:
    rng = np.random.default_rng(3)
    settings = LeakDetectorSettings(window_s=6 * 3600, confirm_s=3600)
    detector = OnlineLeakDetector(_signatures(), np.full(3, 0.01), settings)
    t = _times(10)
    residual = pd.DataFrame(0.01 * rng.standard_normal((len(t), 3)), index=t,
                            columns=["s1", "s2", "s3"])
    assert _run(detector, residual) == []


def test_online_detector_takes_a_growing_leak_for_one_leak() -> None:
    settings = LeakDetectorSettings(window_s=6 * 3600, confirm_s=3600)
    detector = OnlineLeakDetector(_signatures(), np.full(3, 0.001), settings)
    t = _times(6)
    growth = np.clip((np.arange(len(t)) - 96) / (3 * 96), 0, 1) * 0.004  # 0 to 4 L/s in 3 days
    residual = pd.DataFrame(np.outer(growth, _signatures()["P1"]), index=t,
                            columns=["s1", "s2", "s3"])
    assert [pipe for pipe, _ in _run(detector, residual)] == ["P1"]


def _leaky(days: float, leak_day: float, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame,
                                                                   LeakSignatures]:
    pressures, flows, _levels = _network_like(days, seed)
    t = pressures.index
    drop = pd.Series([-0.01, -0.05, -0.02, 0.0], index=pressures.columns)  # m, near sensor b
    pressures = pressures + np.outer(t >= t[int(leak_day * 96)], drop)
    features = boundary_features(flows)
    per_m3s = drop / 0.002
    signatures = LeakSignatures(
        pressure=pd.DataFrame({"Pb": per_m3s, "Pd": [0.0, 0.0, -10.0, -25.0]},
                              index=pressures.columns),
        features=pd.DataFrame({"Pb": 0.0, "Pd": 0.0}, index=features.columns))
    return pressures, features, signatures


def test_detect_leaks_finds_a_step_leak_on_its_pipe() -> None:
    pressures, features, signatures = _leaky(days=20, leak_day=16)
    settings = LeakDetectorSettings(training_s=14 * 86_400, window_s=12 * 3600)
    found = detect_leaks(pressures, features, signatures, settings)
    assert found["pipe_id"].tolist() == ["Pb"]
    start = pressures.index[16 * 96]
    assert start < found["detected_at"].iloc[0] < start + pd.Timedelta(days=1)


def test_detect_leaks_is_causal() -> None:
    pressures, features, signatures = _leaky(days=20, leak_day=16, seed=5)
    settings = LeakDetectorSettings(training_s=14 * 86_400, window_s=12 * 3600)
    full = detect_leaks(pressures, features, signatures, settings)
    assert len(full) == 1
    for cut in (full["detected_at"].iloc[0], full["detected_at"].iloc[0] - STEP):
        part = detect_leaks(pressures[:cut], features[:cut], signatures, settings)
        pd.testing.assert_frame_equal(part, full[full["detected_at"] <= cut])


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="shorter than the training"):
        LeakDetectorSettings(training_s=86_400, window_s=2 * 86_400)
    with pytest.raises(ConfigError, match="threshold"):
        LeakDetectorSettings(threshold=0)


def _inflow(days: int, leak_day: int, leak_m3s: float) -> pd.Series:
    t = _times(days)
    hours = (t.hour + t.minute / 60).to_numpy()
    rng = np.random.default_rng(1)
    use = 0.02 + 0.015 * np.clip(np.sin(2 * np.pi * (hours - 6) / 24), 0, None)
    use = use * (1 + 0.01 * rng.standard_normal(len(t)))
    return pd.Series(use + leak_m3s * (t >= t[leak_day * 96]), index=t)


def test_minimum_night_flow_raises_a_leak_at_the_end_of_its_first_night() -> None:
    inflow = _inflow(days=14, leak_day=10, leak_m3s=0.002)
    alarms = detect_night_flow_leaks(inflow, NightFlowSettings(training_s=7 * 86_400))
    assert len(alarms) == 1
    assert alarms["detected_at"].iloc[0] == pd.Timestamp("2025-01-11 03:45", tz="UTC")
    assert alarms["rise_m3s"].iloc[0] == pytest.approx(0.002, rel=0.1)


def test_minimum_night_flow_stays_quiet_without_a_leak() -> None:
    alarms = detect_night_flow_leaks(_inflow(days=14, leak_day=0, leak_m3s=0.0),
                                     NightFlowSettings(training_s=7 * 86_400))
    assert alarms.empty


def test_minimum_night_flow_needs_training_nights() -> None:
    with pytest.raises(ConfigError, match="training nights"):
        detect_night_flow_leaks(_inflow(days=3, leak_day=0, leak_m3s=0.0),
                                NightFlowSettings(training_s=2 * 86_400))


def test_online_monitor_raises_what_the_batch_detector_raises() -> None:
    pressures, features, signatures = _leaky(days=20, leak_day=16, seed=7)
    gaps = np.random.default_rng(8).random(pressures.shape) < 0.02  # 2 % of readings missing
    pressures = pressures.mask(gaps)
    settings = LeakDetectorSettings(training_s=14 * 86_400, window_s=12 * 3600)
    batch = detect_leaks(pressures, features, signatures, settings)
    assert len(batch) == 1
    training = pressures.index < pressures.index[0] + pd.Timedelta(days=14)
    reference = PressureReference.fit(pressures[training], features[training], settings.ridge)
    spread = held_out_spread(pressures[training], features[training], settings)
    detector = OnlineLeakDetector(signatures.residual_change(reference), spread, settings)
    monitor = OnlineLeakMonitor(reference, detector, ["inlet"])
    flows = features[["flow:inlet"]].to_numpy()
    alarms = []
    for k, time in enumerate(pressures.index):
        if training[k]:  # the window fills with training rows, as in the batch detector
            monitor.observe(time, pressures.to_numpy()[k], flows[k])
            continue
        alarm = monitor.update(time, pressures.to_numpy()[k], flows[k])
        if alarm is not None:
            alarms.append((alarm.pipe_id, alarm.detected_at))
    assert alarms == list(zip(batch["pipe_id"], batch["detected_at"], strict=True))
