"""Locating a leak earlier (``locate_after_s``) and the Bayes placement for the 300 m rule
(``hit_radius_m``) of the online leak detector. Synthetic residuals with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from waterops.detection.leaks import LeakDetectorSettings, OnlineLeakDetector
from waterops.errors import ConfigError

STEP = pd.Timedelta(minutes=15)
SENSORS = ["s1", "s2", "s3"]


def _signatures() -> pd.DataFrame:
    """Three pipes each seen mostly by one of three sensors [m per m³/s]."""
    return pd.DataFrame({"P1": [-10.0, -1.0, 0.0], "P2": [0.0, -10.0, -1.0],
                         "P3": [-1.0, 0.0, -10.0]}, index=SENSORS)


def _window_mean(raw: pd.DataFrame, window_s: float) -> pd.DataFrame:
    return raw.rolling(pd.Timedelta(seconds=window_s), min_periods=1).mean()


def _alarms(detector: OnlineLeakDetector, residual: pd.DataFrame) -> list[tuple[str, pd.Timestamp]]:
    out = []
    for time, row in residual.iterrows():
        alarm = detector.update(pd.Timestamp(str(time)), row.to_numpy())
        if alarm is not None:
            out.append((alarm.pipe_id, alarm.detected_at))
    return out


def _two_leaks(window_s: float, bend: bool) -> tuple[pd.DatetimeIndex, pd.DataFrame]:
    """Window-averaged residual of a 2 L/s leak on P2 from day 1 and a 1 L/s leak on P3 from
    day 3. With ``bend`` the first leak's effect changes direction as it develops (sensor s1
    follows 4 h later), so a partly filled window is not a pure multiple of it."""
    t = pd.date_range("2025-01-01", periods=5 * 96, freq=STEP, tz="UTC")
    effect = np.outer(t >= t[96], _signatures()["P2"] * 0.002)
    if bend:
        effect[:, 0] += np.where(t >= t[96 + 16], -0.02, 0.0)  # 20 spreads on s1, 4 h later
    effect += np.outer(t >= t[3 * 96], _signatures()["P3"] * 0.001)
    return t, _window_mean(pd.DataFrame(effect, index=t, columns=SENSORS), window_s)


def test_a_leak_is_raised_locate_after_s_after_it_is_confirmed_not_a_window() -> None:
    settings = LeakDetectorSettings(window_s=12 * 3600, confirm_s=3600, threshold=5.0,
                                    locate_after_s=2 * 3600)
    t, residual = _two_leaks(settings.window_s, bend=False)
    alarms = _alarms(OnlineLeakDetector(_signatures(), np.full(3, 0.001), settings), residual)
    assert [pipe for pipe, _ in alarms] == ["P2", "P3"]
    # the window mean passes 5 spreads after a quarter of the window (20 spreads in full),
    # is confirmed 1 h later and raised 2 h after that
    assert alarms[0][1] == t[96] + pd.Timedelta(hours=5, minutes=45)
    default = LeakDetectorSettings(window_s=12 * 3600, confirm_s=3600, threshold=5.0)
    late = _alarms(OnlineLeakDetector(_signatures(), np.full(3, 0.001), default), residual)
    assert [pipe for pipe, _ in late] == ["P2", "P3"]
    # by default one whole window after the confirmation instead of locate_after_s
    assert [b - a for (_, a), (_, b) in zip(alarms, late, strict=True)] == [
        pd.Timedelta(hours=10)] * 2


def test_a_leak_raised_early_is_raised_once_while_its_window_fills() -> None:
    """The rest of the change after an early raise (here in another direction: the leak's
    effect varies over the day) is the same leak, not a new one."""
    settings = LeakDetectorSettings(window_s=12 * 3600, confirm_s=3600, threshold=5.0,
                                    locate_after_s=2 * 3600, same_leak_likeness=0.999)
    _t, residual = _two_leaks(settings.window_s, bend=True)
    alarms = _alarms(OnlineLeakDetector(_signatures(), np.full(3, 0.001), settings), residual)
    assert [pipe for pipe, _ in alarms] == ["P2", "P3"]


# ------------------------------------------------------------------ Bayes placement

def _cluster() -> tuple[pd.DataFrame, np.ndarray]:
    """Pipe A stands alone 2 km from B, C, D, which lie within 100 m of each other."""
    signatures = pd.DataFrame(np.eye(4), index=["s1", "s2", "s3", "s4"],
                              columns=["A", "B", "C", "D"])
    distance = np.array([[0, 2000, 2050, 2100], [2000, 0, 50, 100], [2050, 50, 0, 50],
                         [2100, 100, 50, 0]], dtype=float)
    return signatures, distance


def test_posterior_is_a_probability_and_gives_none_to_a_rise_in_pressure() -> None:
    signatures, distance = _cluster()
    detector = OnlineLeakDetector(signatures, np.ones(4), LeakDetectorSettings(), distance)
    posterior = detector.posterior(np.array([6.0, 5.9, -3.0, 5.0]))
    assert posterior.sum() == pytest.approx(1.0)
    assert posterior[2] == 0.0
    assert posterior[0] > posterior[1] > posterior[3] > 0
    # equal scores: equal probability (exp(0.5 (5.9² - 6²)) = 0.55 for B against A)
    assert posterior[1] / posterior[0] == pytest.approx(np.exp(0.5 * (5.9**2 - 36.0)))


def test_the_most_probable_hit_prefers_a_cluster_of_near_ties_to_a_lone_best_match() -> None:
    signatures, distance = _cluster()
    scores = np.array([6.0, 5.9, 5.85, 5.8])  # A best, but B, C, D together more likely
    bayes = OnlineLeakDetector(signatures, np.ones(4),
                               LeakDetectorSettings(hit_radius_m=300.0), distance)
    assert bayes.most_probable_hit(scores) == 1  # B: the best match within the cluster
    # a clear best match stays where it is
    assert bayes.most_probable_hit(np.array([9.0, 5.9, 5.85, 5.8])) == 0
    # a radius shorter than the cluster: only B and C (50 m) or C and its two neighbours
    narrow = OnlineLeakDetector(signatures, np.ones(4),
                                LeakDetectorSettings(hit_radius_m=60.0), distance)
    assert narrow.most_probable_hit(scores) == 2
    # without distances, the argmax
    alone = OnlineLeakDetector(signatures, np.ones(4), LeakDetectorSettings(hit_radius_m=300.0))
    assert alone.most_probable_hit(scores) == 0


def test_a_cold_likelihood_spreads_the_posterior() -> None:
    signatures, distance = _cluster()
    scores = np.array([9.0, 5.9, 5.85, 5.8])
    cold = OnlineLeakDetector(signatures, np.ones(4),
                              LeakDetectorSettings(hit_radius_m=300.0, likelihood_scale=0.03),
                              distance)
    assert cold.most_probable_hit(scores) == 1


def test_signature_error_keeps_near_ties_of_a_strong_change_likely() -> None:
    """A strong change (score 100) whose best pipe beats three neighbours by 1-1.2 %: exact
    signatures single out the best, signatures 10 % off leave the cluster more likely."""
    signatures, distance = _cluster()
    scores = np.array([100.0, 99.0, 98.9, 98.8])
    exact = OnlineLeakDetector(signatures, np.ones(4),
                               LeakDetectorSettings(hit_radius_m=300.0), distance)
    assert exact.posterior(scores)[0] > 0.99
    assert exact.most_probable_hit(scores) == 0
    rough = OnlineLeakDetector(signatures, np.ones(4),
                               LeakDetectorSettings(hit_radius_m=300.0, signature_error=0.1),
                               distance)
    # B against A: exp(-(100² - 99²) / 2 / (1 + 10²)) = 0.37
    posterior = rough.posterior(scores)
    assert posterior[1] / posterior[0] == pytest.approx(np.exp(-199 / 2 / 101))
    assert rough.most_probable_hit(scores) == 1
    # a weak change is still judged by its noise alone: 10 % of 6 adds little
    weak = rough.posterior(np.array([6.0, 5.0, 4.9, 4.8]))
    assert weak[1] / weak[0] == pytest.approx(np.exp(-0.5 * (36 - 25) / 1.36))


def test_locating_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="locate_after_s"):
        LeakDetectorSettings(window_s=3600, locate_after_s=7200)
    with pytest.raises(ConfigError, match="locate_after_s"):
        LeakDetectorSettings(locate_after_s=-1)
    with pytest.raises(ConfigError, match="hit_radius_m"):
        LeakDetectorSettings(hit_radius_m=-1)
    with pytest.raises(ConfigError, match="signature_error"):
        LeakDetectorSettings(signature_error=-0.1)
    with pytest.raises(ConfigError, match="likelihood_scale"):
        LeakDetectorSettings(likelihood_scale=0)
