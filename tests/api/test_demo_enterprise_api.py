"""The demo's enterprise customer sees its enterprise over HTTP, on SQLite and PostgreSQL:
the demo seeding on a fresh store registers the park mill for ``demo-enterprise`` with its
meter's history, so consumption and savings advice answer from the first minute; a second run
adds nothing but the meter reads of the hours since; no other customer sees it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from waterops.errors import ConfigError
from waterops.io.inp import read_inp
from waterops.model.accounts import Role
from waterops.model.tariffs import demo_tariff_book
from waterops.service.demo_enterprise import DEMO_ENTERPRISE_ACCOUNT, ensure_demo_enterprise
from waterops.service.enterprise_service import EnterpriseService, enterprise_drafts
from waterops.service.live import ensure_demo_accounts
from waterops.service.virtual_utility import build_demo_utility
from waterops.store.enterprises_store import EnterprisesStore
from waterops.store.telemetry_store import TelemetryStore

from .conftest import Api

E = "/api/v1/enterprises"
METER = "D-JUNCTION-3075"


def seed(api: Api) -> dict[str, str]:
    """The demo accounts and the demo enterprise; the accounts' passwords by user name."""
    passwords = {name: password for name, _, password in ensure_demo_accounts(api.services.auth)}
    ensure_demo_enterprise(api.services.auth, build_demo_utility())
    return passwords


def get(api: Api, path: str, headers: dict[str, str], status: int = 200) -> Any:
    answer = api.client.get(path, headers=headers)
    assert answer.status_code == status, (path, answer.text)
    return answer.json()


def counts(api: Api, staff: dict[str, str], customer: dict[str, str],
           enterprise_id: int) -> tuple[int, ...]:
    """Enterprises, visits, problems, the customer's accounts for notices, meter reads."""
    store = TelemetryStore(api.services.accounts.engine)
    return (get(api, E, staff)["total"], get(api, f"{E}/{enterprise_id}/visits", staff)["total"],
            get(api, f"{E}/{enterprise_id}/problems", staff)["total"],
            len(get(api, "/api/v1/notices/contacts/mine", customer)),
            len(store.readings(METER)))


def model_flows_m3s() -> tuple[float, float]:
    """Mean and 02:00-04:00 demand of the mill's node in the network file [m³/s]."""
    net = read_inp(build_demo_utility().network_file)
    base = float(net.junctions.at["JUNCTION-3075", "base_demand_m3s"])
    pattern = np.asarray(net.patterns[net.junctions.at["JUNCTION-3075", "demand_pattern"]])
    assert len(pattern) == 24 and net.times.pattern_step_s == 3600
    return base * float(pattern.mean()), base * float(pattern[2:4].mean())


def test_the_demo_enterprise_customer_sees_its_enterprise_and_real_advice(api: Api) -> None:
    passwords = seed(api)
    mine = api.login("demo-enterprise", passwords["demo-enterprise"])
    page = get(api, E, mine)
    assert page["total"] == 1
    ent = page["items"][0]
    customer = api.services.accounts.credentials("demo-enterprise")
    agent = api.services.accounts.credentials("demo-agent")
    assert customer is not None and agent is not None
    assert (ent["account_id"], ent["customer_user_id"], ent["manager_id"], ent["park_id"],
            ent["meter_sensor_ids"]) == (DEMO_ENTERPRISE_ACCOUNT, customer[0].id, agent[0].id,
                                         "PARK-1", [METER])

    # consumption over the default window (the last 7 days by the app's clock): the model's
    # demand at the mill's node, and the night use it declares covers its night flow
    average_m3s, night_m3s = model_flows_m3s()
    consumption = get(api, f"{E}/{ent['id']}/consumption", mine)
    assert consumption["average_flow_m3s"] == pytest.approx(average_m3s, rel=0.05)
    assert consumption["night_flow_m3s"] == pytest.approx(night_m3s, rel=0.05)
    assert ent["justified_night_flow_m3s"] >= night_m3s
    assert consumption["leak_hint"] is False
    full_days = [d for d in consumption["daily"] if d["hours"] == 24]
    assert len(full_days) >= 6
    assert all(d["volume_m3"] == pytest.approx(average_m3s * 86_400, rel=0.15)
               for d in full_days)

    # advice: reuse and the quota surcharge of the non-household tariff, in yuan per year
    advice = get(api, f"{E}/{ent['id']}/advice", mine)
    quota = demo_tariff_book().get("non-household")
    assert advice["tariff"] == quota.name
    assert [i["kind"] for i in advice["items"]] == ["leak", "reuse", "shifting"]
    leak, reuse, shifting = advice["items"]
    assert (leak["message"], leak["yuan_per_year"]) == ("leak_none", 0.0)
    assert reuse["message"] == "reuse" and reuse["yuan_per_year"] > 10_000
    assert shifting["message"] == "shifting_over_quota" and shifting["yuan_per_year"] > 0
    assert advice["annual_volume_m3"] > 12 * 5000
    assert advice["total_yuan_per_year"] == pytest.approx(
        reuse["yuan_per_year"] + shifting["yuan_per_year"])

    # the manager's first visit and its problems; the closed one is the customer's to rate
    visits = get(api, f"{E}/{ent['id']}/visits", mine)
    assert visits["total"] == 1 and visits["items"][0]["topics"]
    problems = get(api, f"{E}/{ent['id']}/problems", mine)["items"]
    assert [p["state"] for p in problems] == ["closed", "in_progress"]
    rated = api.client.post(f"{E}/problems/{problems[0]['id']}/rating", headers=mine,
                            json={"score": 4})
    assert rated.status_code == 200, rated.text
    assert [c["account_id"] for c in get(api, "/api/v1/notices/contacts/mine", mine)] == [
        DEMO_ENTERPRISE_ACCOUNT]

    # a second run (a restarted demo) adds nothing; a day later only that day's meter reads
    def tokens() -> tuple[dict[str, str], dict[str, str]]:
        return (api.login("demo-admin", passwords["demo-admin"]),
                api.login("demo-enterprise", passwords["demo-enterprise"]))

    before = counts(api, *tokens(), ent["id"])
    assert before == (1, 1, 2, 1, 28 * 24)
    passwords = seed(api)
    assert counts(api, *tokens(), ent["id"]) == before
    api.clock.advance(days=1)
    ensure_demo_enterprise(api.services.auth, build_demo_utility())
    staff, mine = tokens()
    assert counts(api, staff, mine, ent["id"]) == (*before[:4], before[4] + 24)
    assert get(api, E, mine)["items"][0]["id"] == ent["id"]
    rated_problem = get(api, f"{E}/problems/{problems[0]['id']}", mine)["problem"]
    assert rated_problem["satisfaction"] == 4  # the run left the customer's rating alone

    # nobody else sees it
    other = api.customer("other.plant", "enterprise_customer")
    assert get(api, E, other)["total"] == 0
    for path in (f"{E}/{ent['id']}", f"{E}/{ent['id']}/consumption", f"{E}/{ent['id']}/advice",
                 f"{E}/{ent['id']}/visits", f"{E}/problems/{problems[0]['id']}"):
        get(api, path, other, 404)
    assert get(api, "/api/v1/notices/contacts/mine", other) == []
    household = api.login("demo-household", passwords["demo-household"])
    get(api, E, household, 403)
    get(api, f"{E}/{ent['id']}/advice", household, 404)


def test_the_demo_takes_over_a_park_enterprise_registered_without_a_customer(api: Api) -> None:
    ensure_demo_accounts(api.services.auth)
    layout = build_demo_utility()
    engine = api.services.accounts.engine
    service = EnterpriseService(EnterprisesStore(engine), TelemetryStore(engine),
                                clock=api.services.auth.clock)
    admin = api.services.auth.create_administrator("root-admin", "correct horse battery")
    draft = next(d for d in enterprise_drafts(layout) if d.account_id == DEMO_ENTERPRISE_ACCOUNT)
    registered = service.register(admin, draft)  # as `waterops enterprises import-demo` does
    assert registered.customer_user_id is None and registered.justified_night_flow_m3s == 0

    linked = ensure_demo_enterprise(api.services.auth, layout)
    customer = api.services.accounts.credentials("demo-enterprise")
    assert customer is not None
    assert (linked.id, linked.customer_user_id) == (registered.id, customer[0].id)
    assert linked.justified_night_flow_m3s > 0 and linked.employees

    # an enterprise another customer holds is not taken from them
    other = api.services.accounts.create_user("someone.else", "x", Role.ENTERPRISE_CUSTOMER,
                                              at=api.clock())
    service.update(admin, registered.id, {"customer_user_id": other.id})
    with pytest.raises(ConfigError, match=DEMO_ENTERPRISE_ACCOUNT):
        ensure_demo_enterprise(api.services.auth, layout)


def test_the_demo_enterprise_needs_the_demo_accounts(api: Api) -> None:
    with pytest.raises(ConfigError, match="demo-agent"):
        ensure_demo_enterprise(api.services.auth, build_demo_utility())
