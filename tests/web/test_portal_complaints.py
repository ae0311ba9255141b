"""Complaints in the portal, in a real browser: a low-pressure complaint filed at a pump room
whose booster tripped receives its diagnosis from the telemetry and a callback due within two
minutes, in English and in Chinese; wrong locations are named before anything is sent; another
customer's complaint is neither listed nor shown; the survey after closing."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from waterops.model.accounts import Role
from web.conftest import WebServer, check_accessibility, expect_focus
from web.portal_world import LOW_PRESSURE_ROOM, portal_login, seed_booster_trip, staff

BEIJING = ZoneInfo("Asia/Shanghai")


def shown_time(text: str) -> datetime:
    """A time as the page shows it in English (Beijing time, 24-hour clock)."""
    text = re.sub(r", 24:", ", 00:", text.strip())  # some ICU versions write midnight as 24
    return datetime.strptime(text, "%m/%d/%Y, %H:%M:%S").replace(tzinfo=BEIJING)


def file_low_pressure(page: Any, node: str, description: str) -> int:
    page.get_by_role("link", name="Complaints and repairs").click()
    page.get_by_label("What is wrong").select_option("low_pressure")
    page.get_by_label("Description").fill(description)
    page.get_by_label("Address").fill("Building 4, Garden Estate")
    page.get_by_label("At a network point").check()
    page.get_by_label(re.compile("Network point")).fill(node)
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(re.compile(r"#complaints/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_a_low_pressure_complaint_gets_its_diagnosis_and_callback(
        page: Any, web_server: WebServer) -> None:
    trip_at = seed_booster_trip(web_server)
    portal_login(page, web_server)
    page.get_by_role("link", name="Complaints and repairs").click()
    page.locator("#no-complaints").wait_for()
    check_accessibility(page)

    complaint_id = file_low_pressure(page, f"{LOW_PRESSURE_ROOM}-HIGHZONE",
                                     "no pressure on floor 25")
    diagnosis = page.locator("#diagnosis-text")
    diagnosis.wait_for()
    local_trip = trip_at.astimezone(BEIJING).strftime("%H:%M")
    assert diagnosis.inner_text().startswith(f"Booster of pump room 4 stopped at {local_trip}")
    assert page.locator("#complaint-state").inner_text() == "Answered"
    callback = page.locator("#callback").inner_text()
    due = re.search(r"call you back by (.+)\.$", callback)
    assert due, callback
    # the promise: a callback within two minutes of the complaint
    received = re.search(r"Received: (.+)", page.locator(".panel").first.inner_text())
    assert received
    assert shown_time(due.group(1)) - shown_time(received.group(1)) == timedelta(minutes=2)
    assert page.locator(".findings li").count() >= 1
    history = page.locator("#complaint-history li strong").all_inner_texts()
    assert history == ["Received", "Diagnosed", "Answered"]
    check_accessibility(page)

    # the same complaint in Chinese: the Chinese diagnosis
    page.goto(f"{web_server.base_url}/portal?lang=zh-CN#complaints/{complaint_id}")
    page.get_by_role("heading", name=re.compile(f"投诉 {complaint_id}")).wait_for()
    assert page.locator("#diagnosis-text").inner_text().startswith(
        f"4号泵房增压泵{local_trip}停机")
    assert "前给您回电" in page.locator("#callback").inner_text()
    check_accessibility(page)

    # the list shows it with its state and diagnosis
    page.goto(f"{web_server.base_url}/portal?lang=en#complaints")
    row = page.locator("#complaints-table tbody tr")
    row.first.wait_for()
    assert row.count() == 1
    assert "Low pressure" in row.inner_text() and "Booster of pump room 4" in row.inner_text()

    # the agent calls back and closes; the customer rates the service
    with staff(web_server, Role.SERVICE_AGENT) as agent:
        for action in ("log_callback", "close"):
            moved = agent.post(f"/complaints/{complaint_id}/actions",
                               json={"action": action, "note": "crew on the way"})
            assert moved.status_code == 200, moved.text
    page.goto(f"{web_server.base_url}/portal#complaints/{complaint_id}")
    page.locator("#complaint-state").filter(has_text="Closed").wait_for()
    called = page.locator("#callback").inner_text()
    assert "We called you back at" in called
    seconds = re.search(r"\((\d+) s after your complaint\)", called)
    assert seconds and int(seconds.group(1)) < 120, called
    page.get_by_label("Satisfied", exact=True).check()
    page.get_by_label("Comment").fill("quick")
    page.get_by_role("button", name="Submit").click()
    page.get_by_text("Your rating: 4 / 5").wait_for()
    assert page.get_by_role("button", name="The problem is back: reopen").is_visible()


def test_a_wrong_location_is_named_before_sending(page: Any, web_server: WebServer) -> None:
    portal_login(page, web_server)
    page.get_by_role("link", name="Complaints and repairs").click()
    page.get_by_label("At a map point").check()
    page.get_by_label("Longitude [degrees]").fill("200")
    page.get_by_label("Latitude [degrees]").fill("north")
    page.get_by_role("button", name="Send").click()
    assert page.locator("#longitude-error").inner_text() == (
        "A longitude between -180 and 180 degrees.")
    assert page.locator("#latitude-error").inner_text() == (
        "A latitude between -90 and 90 degrees.")
    expect_focus(page, "id", "longitude")
    assert page.get_by_role("alert").inner_text() == "Please correct the marked fields."
    # a node the network does not have: the API's problem detail is shown
    page.get_by_label("At a network point").check()
    page.get_by_label(re.compile("Network point")).fill("NO-SUCH-NODE")
    page.get_by_role("button", name="Send").click()
    page.get_by_role("alert").filter(has_text="NO-SUCH-NODE").wait_for()
    assert "is not in the network model" in page.get_by_role("alert").inner_text()
    assert re.search(r"#complaints$", page.url)
    check_accessibility(page)


def test_a_customer_sees_only_their_own_complaints(page: Any, web_server: WebServer) -> None:
    portal_login(page, web_server)
    complaint_id = file_low_pressure(page, "JUNCTION-534", "weak shower")
    page.locator("#diagnosis").wait_for()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/$"))

    portal_login(page, web_server)
    page.get_by_role("link", name="Complaints and repairs").click()
    page.locator("#no-complaints").wait_for()
    page.goto(f"{web_server.base_url}/portal#complaints/{complaint_id}")
    page.locator("#not-found").wait_for()
    assert page.locator("#not-found").inner_text() == (
        f"Complaint {complaint_id} does not exist or is not yours: you can see only your own "
        "records.")
    assert "weak shower" not in page.content()
