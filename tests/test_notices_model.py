"""Lead-time rules of outage notices at their boundaries (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from waterops.errors import NoticeRuleError
from waterops.model.notices import (
    NoticeKind,
    NoticeRules,
    OutagePlan,
    check_plan,
    earliest_start,
    notice_text,
)

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
H = timedelta(hours=1)
US = timedelta(microseconds=1)


def planned(lead: timedelta, duration: timedelta) -> OutagePlan:
    return OutagePlan(NoticeKind.PLANNED, NOW + lead, NOW + lead + duration, NOW)


def test_planned_24_h_boundary() -> None:
    check_plan(planned(24 * H, 12 * H))  # exactly 24 h ahead, exactly 12 h long: allowed
    with pytest.raises(NoticeRuleError, match="at least 24 h ahead") as caught:
        check_plan(planned(24 * H - US, 4 * H))
    assert "城市供水条例" in caught.value.rule


def test_long_outage_needs_48_h() -> None:
    check_plan(planned(48 * H, 12 * H + US))
    with pytest.raises(NoticeRuleError, match="over 12 h: notice at least 48 h") as caught:
        check_plan(planned(48 * H - US, 12 * H + US))
    assert "configurable" in caught.value.rule
    # 12 h exactly is not "over 12 h"
    check_plan(planned(24 * H, 12 * H))


def test_rules_are_settings() -> None:
    rules = NoticeRules(planned_lead_s=72 * 3600.0)
    with pytest.raises(NoticeRuleError, match="72 h"):
        check_plan(planned(48 * H, 2 * H), rules)
    assert earliest_start(NoticeKind.PLANNED, 13 * 3600, NOW) == NOW + 48 * H
    assert earliest_start(NoticeKind.PLANNED, 12 * 3600, NOW) == NOW + 24 * H
    assert earliest_start(NoticeKind.UNPLANNED, 13 * 3600, NOW) == NOW


def test_unplanned_goes_out_as_repair_starts() -> None:
    check_plan(OutagePlan(NoticeKind.UNPLANNED, NOW, NOW + 5 * H, NOW))
    check_plan(OutagePlan(NoticeKind.UNPLANNED, NOW - 2 * H, NOW + 5 * H, NOW))
    with pytest.raises(NoticeRuleError, match="as the repair starts"):
        check_plan(OutagePlan(NoticeKind.UNPLANNED, NOW + US, NOW + 5 * H, NOW))


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_order_and_length(kind: NoticeKind) -> None:
    start = NOW + 50 * H if kind is NoticeKind.PLANNED else NOW
    with pytest.raises(NoticeRuleError, match="ends after it starts"):
        check_plan(OutagePlan(kind, start, start, NOW))
    with pytest.raises(NoticeRuleError, match="at most 720 h"):
        check_plan(OutagePlan(kind, start, start + 721 * H, NOW))
    with pytest.raises(NoticeRuleError, match="no time zone"):
        check_plan(OutagePlan(kind, start.replace(tzinfo=None), start + H, NOW))


def test_text_in_local_time_and_both_languages() -> None:
    subject, en, zh = notice_text(planned(30 * H, 4 * H), "Block 3", "main replacement")
    # 02:00 UTC + 30 h = 08:00 UTC next day = 16:00 Beijing
    assert "2026-11-24 16:00" in en and "2026-11-24 20:00" in zh
    assert subject.startswith("Planned") and "停水" in zh
