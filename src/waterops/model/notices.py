"""Outage notices (停水通知): planned works and unplanned outages, and their lead-time rules
(pure).

The rules, as settings (:class:`NoticeRules`):

- **planned stop: at least 24 h ahead.** The Urban Water Supply Regulations (城市供水条例,
  State Council 1994, revised 2018/2020) ask the supplier to notify users 24 hours before a stop
  for works or maintenance; the article is usually quoted as art. 22 (a text found by search
  numbers it art. 23 in a later revision, so the rule names the regulation, not an article).
- **planned stop longer than 12 h: at least 48 h ahead.** Not national law: a common local
  rule of city water-supply ordinances and utilities' service commitments; both figures are
  settings of :class:`NoticeRules`.
- **unplanned stop** (burst, accident): the same regulations ask for notice *while* the
  repair starts; a notice of this kind must therefore not be for a stop that has not begun
  (one known in advance is planned works, with its lead time).

Every refusal is a :class:`~waterops.errors.NoticeRuleError` naming the rule.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from waterops.errors import NoticeRuleError

HOUR_S = 3600.0


class NoticeKind(enum.StrEnum):
    """Planned works or an unplanned outage."""

    PLANNED = "planned"
    UNPLANNED = "unplanned"


@dataclass(frozen=True)
class NoticeRules:
    """The lead-time rules of outage notices.

    Attributes
    ----------
    planned_lead_s : minimum notice before a planned stop [s] (24 h, 城市供水条例)
    long_outage_s : a planned stop longer than this is "long" [s] (12 h, local rule)
    long_outage_lead_s : minimum notice before a long planned stop [s] (48 h, local rule)
    max_outage_s : longest outage a notice may announce [s] (a typo guard: 30 days)
    """

    planned_lead_s: float = 24 * HOUR_S
    long_outage_s: float = 12 * HOUR_S
    long_outage_lead_s: float = 48 * HOUR_S
    max_outage_s: float = 30 * 24 * HOUR_S

    @property
    def planned_rule(self) -> str:
        """Name of the ordinary lead-time rule."""
        return (f"planned stop: notice at least {self.planned_lead_s / HOUR_S:g} h ahead "
                "(城市供水条例)")

    @property
    def long_rule(self) -> str:
        """Name of the long-outage lead-time rule."""
        return (f"planned stop over {self.long_outage_s / HOUR_S:g} h: notice at least "
                f"{self.long_outage_lead_s / HOUR_S:g} h ahead (local rule, configurable)")


UNPLANNED_RULE = "unplanned stop: notice as the repair starts (城市供水条例)"
ORDER_RULE = "an outage ends after it starts"


@dataclass(frozen=True)
class OutagePlan:
    """What a notice announces.

    Attributes
    ----------
    kind : planned works or unplanned outage
    starts_at, ends_at : the stop and the expected restoration (UTC, aware)
    issued_at : when the notice goes out (UTC, aware)
    """

    kind: NoticeKind
    starts_at: datetime
    ends_at: datetime
    issued_at: datetime

    @property
    def duration_s(self) -> float:
        """Length of the stop [s]."""
        return (self.ends_at - self.starts_at).total_seconds()

    @property
    def lead_s(self) -> float:
        """Time from the notice to the stop [s] (negative: the stop has begun)."""
        return (self.starts_at - self.issued_at).total_seconds()


def required_lead_s(plan: OutagePlan, rules: NoticeRules) -> float:
    """Minimum lead time of ``plan`` under ``rules`` [s] (0 for an unplanned outage)."""
    if plan.kind is NoticeKind.UNPLANNED:
        return 0.0
    if plan.duration_s > rules.long_outage_s:
        return max(rules.long_outage_lead_s, rules.planned_lead_s)
    return rules.planned_lead_s


def check_plan(plan: OutagePlan, rules: NoticeRules | None = None) -> None:
    """Refuse a notice that breaks a rule (:class:`NoticeRuleError` naming the rule)."""
    rules = rules or NoticeRules()
    for name, when in (("starts_at", plan.starts_at), ("ends_at", plan.ends_at),
                       ("issued_at", plan.issued_at)):
        if when.tzinfo is None:
            raise NoticeRuleError("times are aware", f"{name} {when} has no time zone")
    if plan.duration_s <= 0:
        raise NoticeRuleError(ORDER_RULE,
                              f"ends {plan.ends_at.isoformat()} <= starts "
                              f"{plan.starts_at.isoformat()}")
    if plan.duration_s > rules.max_outage_s:
        raise NoticeRuleError(
            f"an outage lasts at most {rules.max_outage_s / HOUR_S:g} h",
            f"this one lasts {plan.duration_s / HOUR_S:.1f} h")
    if plan.kind is NoticeKind.UNPLANNED:
        if plan.lead_s > 0:
            raise NoticeRuleError(
                UNPLANNED_RULE,
                f"the stop starts {plan.lead_s / HOUR_S:.2f} h after the notice: a stop known "
                "in advance is planned works, with its lead time")
        return
    need = required_lead_s(plan, rules)
    if plan.lead_s < need:
        rule = rules.long_rule if need > rules.planned_lead_s else rules.planned_rule
        raise NoticeRuleError(
            rule, f"notice {plan.lead_s / HOUR_S:.2f} h before a stop of "
                  f"{plan.duration_s / HOUR_S:.2f} h; needs {need / HOUR_S:g} h")


def earliest_start(kind: NoticeKind, duration_s: float, issued_at: datetime,
                   rules: NoticeRules | None = None) -> datetime:
    """The earliest stop a notice issued at ``issued_at`` may announce."""
    rules = rules or NoticeRules()
    plan = OutagePlan(kind, issued_at, issued_at + timedelta(seconds=duration_s), issued_at)
    return issued_at + timedelta(seconds=required_lead_s(plan, rules))


def notice_text(plan: OutagePlan, area: str, reason: str,
                timezone: str = "Asia/Shanghai") -> tuple[str, str, str]:
    """(subject, English body, zh-CN body) of a notice, times in the utility's local clock."""
    tz = ZoneInfo(timezone)
    start = plan.starts_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    end = plan.ends_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if plan.kind is NoticeKind.PLANNED:
        subject = f"Planned water outage {start}"
        en = (f"Water supply to {area} stops from {start} to {end} for {reason}. "
              "Please store water beforehand.")
        zh = f"因{reason}，{area}将于{start}至{end}停水，请提前储水。"
    else:
        subject = f"Water outage: repair under way ({start})"
        en = (f"Water supply to {area} stopped at {start} ({reason}). A repair crew is at "
              f"work; water is expected back by {end}.")
        zh = f"因{reason}，{area}自{start}起停水，正在抢修，预计{end}前恢复供水。"
    return subject, en, zh
