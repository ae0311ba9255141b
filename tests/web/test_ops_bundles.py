"""The operations centre's texts and role table, without a browser: every message key the page
uses exists in both languages (common + ops bundles), and the page's copy of the role grants
equals :data:`waterops.model.accounts.ROLE_PERMISSIONS`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from waterops.model.accounts import ROLE_PERMISSIONS, STAFF_ROLES, Permission
from waterops.model.alarms import AlarmState, Cause, IncidentState, Severity
from waterops.model.telemetry import Quantity
from waterops.model.utility import IncidentType
from waterops.web.app import STATIC_DIR

LANGUAGES = ("en", "zh-CN")
OPS_JS = sorted((STATIC_DIR / "js" / "ops").glob("*.js"))


def bundle(lang: str) -> dict[str, str]:
    messages: dict[str, str] = {}
    for name in ("common", "ops", "ops-more"):  # ops-more: the views of issues 9 and 10
        messages |= json.loads((STATIC_DIR / "i18n" / f"{name}.{lang}.json").read_text("utf-8"))
    return messages


def keys_used() -> set[str]:
    """Keys in data-i18n* attributes of ops.html and literal t("…") calls of js/ops/*.js."""
    html = (STATIC_DIR / "ops.html").read_text("utf-8")
    used = set(re.findall(r'data-i18n(?:-label|-placeholder|-title)?="([^"]+)"', html))
    for path in OPS_JS:
        used |= set(re.findall(r'\bt\("([a-z_A-Z0-9.]+[a-z_A-Z0-9])"', path.read_text("utf-8")))
    return used


def keys_built() -> set[str]:
    """Keys the scripts build from a prefix and a value the API answers with."""
    built = {f"ops.severity.{s.value}" for s in Severity}
    built |= {f"ops.state.{s.value}" for s in AlarmState}
    built |= {f"ops.incident_state.{s.value}" for s in IncidentState}
    built |= {f"ops.cause.{c.value}" for c in Cause}
    built |= {f"ops.incident_type.{i.value}" for i in IncidentType}
    built |= {f"ops.q.{q.value}" for q in Quantity}
    built |= {f"ops.q.{q}" for q in ("pressure", "flow", "water_age", "chlorine", "diameter")}
    built |= {f"ops.kind.{k}" for k in ("junction", "reservoir", "tank", "pipe", "pump",
                                         "valve")}
    built |= {f"ops.marker.{k}" for k in ("sensor", "pump_room", "source", "plant", "alarm")}
    built |= {f"ops.action.{a}" for a in ("acknowledge", "assign", "resolve")}
    built |= {f"ops.live.{s}" for s in ("on", "off", "retry")}
    built |= {f"ops.nav.{v}" for v in ("map", "alarms", "sensors", "incidents", "scenario")}
    built |= {f"role.{r.value}" for r in STAFF_ROLES}
    kpis = re.findall(r'key: "(\w+)"', (STATIC_DIR / "js/ops/kpis.js").read_text("utf-8"))
    assert len(kpis) == 7
    built |= {f"ops.kpi.{k}" for k in kpis}
    return built


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_the_page_uses_exists(lang: str) -> None:
    messages = bundle(lang)
    needed = keys_used() | keys_built()
    assert len(needed) > 150
    missing = sorted(k for k in needed if not messages.get(k, "").strip())
    assert missing == [], f"missing in {lang}: {missing}"


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    en = json.loads((STATIC_DIR / "i18n" / "ops.en.json").read_text("utf-8"))
    zh = json.loads((STATIC_DIR / "i18n" / "ops.zh-CN.json").read_text("utf-8"))
    assert set(en) == set(zh)
    for key in en:
        assert set(re.findall(r"\{(\w+)\}", en[key])) == set(re.findall(r"\{(\w+)\}", zh[key])), key
    # the Chinese bundle is translated, not copied
    same = [k for k in en if en[k] == zh[k] and re.search("[A-Za-z]{4}", en[k])]
    assert same == []


def js_object(source: str, name: str) -> object:
    """A JSON-like literal (``export const NAME = …;``) of a script, as Python data."""
    found = re.search(rf"export const {name} = (.+?);\n", source, re.S)
    assert found, name
    text = re.sub(r"//[^\n]*", "", found.group(1))
    text = re.sub(r"(?m)^(\s*)(\w+):", r'\1"\2":', text)  # bare keys, one per line
    text = re.sub(r",(\s*[}\]])", r"\1", text)  # trailing commas
    return json.loads(text)


def test_the_pages_role_table_equals_the_grants() -> None:
    source = (STATIC_DIR / "js/ops/roles.js").read_text("utf-8")
    relevant = js_object(source, "RELEVANT")
    table = js_object(source, "PERMISSIONS")
    assert isinstance(relevant, list) and isinstance(table, dict)
    assert set(relevant) <= {p.value for p in Permission}
    assert set(table) == {r.value for r in STAFF_ROLES}
    for role in STAFF_ROLES:
        granted = {p.value for p in ROLE_PERMISSIONS[role]} & set(relevant)
        assert set(table[role.value]) == granted, role


def test_no_page_asset_comes_from_outside() -> None:
    for path in [STATIC_DIR / "ops.html", *OPS_JS, STATIC_DIR / "css/ops.css"]:
        text = Path(path).read_text("utf-8")
        assert not re.search(r"(?:src|href)=\"(?:https?:)?//", text), path
        assert "cdn" not in text.lower(), path
