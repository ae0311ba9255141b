"""The portal's connection applications in a real browser: a household applies in two steps
with one document, staff move the application through the API as the operations centre would,
and the customer sees each stage on the timeline up to water-on; the application flow works
from the keyboard alone and the page follows staff moves live; another customer's application
is neither listed nor shown."""

from __future__ import annotations

import re
from typing import Any

from waterops.model.accounts import Role
from web.conftest import WebServer, check_accessibility, expect_focus
from web.portal_world import customer_api, portal_login, small_pdf, staff


def fill_step_1(page: Any, address: str, phone: str = "+86 138 0000 0000") -> None:
    page.get_by_label("Address of the connection").fill(address)
    page.get_by_label("Contact phone").fill(phone)
    page.get_by_label("Meter size").select_option("20")


def test_household_applies_and_follows_it_to_water_on(page: Any, web_server: WebServer,
                                                      tmp_path: Any) -> None:
    portal_login(page, web_server)
    assert page.get_by_role("heading", name="My connection applications").is_visible()
    page.locator("#no-applications").wait_for()

    page.get_by_role("link", name="New application").click()
    page.wait_for_url(re.compile(r"#apply$"))
    # step 1 refuses a missing address and a wrong phone, naming the fields
    page.get_by_label("Contact phone").fill("call me")
    page.get_by_role("button", name="Next: the document").click()
    assert page.get_by_label("Address of the connection").get_attribute("aria-invalid") == "true"
    assert "A phone number" in page.locator("#contact-phone-error").inner_text()
    assert page.locator("#step-2").is_hidden()
    fill_step_1(page, "12 Riverside Road, flat 301")
    page.get_by_label("External works are needed (a new service pipe in the street)").check()
    page.get_by_role("button", name="Next: the document").click()
    page.locator("#step-2").wait_for()
    assert "12 Riverside Road, flat 301" in page.locator("#apply-summary").inner_text()
    assert page.locator("#step-2-marker").get_attribute("aria-current") == "step"
    # step 2 without a document is refused; with the PDF the application is made
    page.get_by_role("button", name="Submit the application").click()
    assert page.locator("#document-error").inner_text() == "Choose one file."
    pdf = tmp_path / "property.pdf"
    pdf.write_bytes(small_pdf())
    page.get_by_label(re.compile("Proof of the property")).set_input_files(str(pdf))
    check_accessibility(page)
    page.get_by_role("button", name="Submit the application").click()
    page.wait_for_url(re.compile(r"#applications/\d+$"))
    app_id = int(page.url.rsplit("/", 1)[1])
    page.get_by_role("heading", name=re.compile(f"Application {app_id}")).wait_for()
    assert page.locator("#app-state").inner_text() == "Application received"
    assert page.locator("#sla").is_visible()
    assert "of 30 working days used" in page.locator("#sla").inner_text()
    stages = page.locator("#stages li")
    assert stages.count() == 6  # application … construction, meter, water on
    current = page.locator("#stages li[aria-current=step]")
    assert current.get_attribute("data-stage") == "application"
    assert "due by" in current.locator(".stage-due").inner_text()
    assert page.locator("#app-document").inner_text() == "property.pdf"
    check_accessibility(page)

    def refresh_and_expect(state: str, title: str) -> None:
        page.get_by_role("button", name="Refresh").click()
        page.locator("#app-state").filter(has_text=title).wait_for()
        current = page.locator("#stages li[aria-current=step]")
        if state == "water_on":
            assert current.count() == 0
            assert page.locator("#stages li.done").count() == 6
        else:
            assert current.get_attribute("data-stage") == state

    with staff(web_server, Role.SERVICE_AGENT) as agent, \
            staff(web_server, Role.FIELD_CREW) as crew:
        accepted = agent.post(f"/connections/{app_id}/actions",
                              json={"action": "accept", "note": "documents complete"})
        assert accepted.status_code == 200, accepted.text
        refresh_and_expect("acceptance_survey", "Accepted; site survey")
        assert crew.post(f"/connections/{app_id}/actions",
                         json={"action": "survey_done"}).status_code == 200
        refresh_and_expect("design_quote", "Design and quote")
        # the applicant's step 2: accept the quote in the portal
        page.get_by_role("button", name="Accept the quote (step 2)").click()
        page.locator("#app-state").filter(has_text="Construction of the external works").wait_for()
        assert crew.post(f"/connections/{app_id}/actions",
                         json={"action": "construction_done"}).status_code == 200
        refresh_and_expect("meter_installation", "Meter installation")
        assert crew.post(f"/connections/{app_id}/actions",
                         json={"action": "turn_water_on", "note": "meter 0 m³"}).status_code == 200
        refresh_and_expect("water_on", "Water on")

    timeline = page.locator("#timeline li")
    assert timeline.count() == 6
    texts = timeline.all_inner_texts()
    assert page.locator("#timeline li strong").all_inner_texts() == [
        "Application received", "Accepted; site survey", "Design and quote",
        "Construction of the external works", "Meter installation", "Water on"]
    assert "documents complete" in texts[1]
    assert page.locator("#sla").count() == 0  # no clock once the water is on
    assert page.get_by_role("button", name="Withdraw the application").count() == 0
    assert "Water on since" in page.locator(".app-summary").inner_text()
    check_accessibility(page)

    page.get_by_role("link", name="Back to the list").click()
    row = page.locator("#applications-table tbody tr")
    row.first.wait_for()
    assert row.count() == 1 and "Water on" in row.inner_text()


def test_the_application_flow_works_from_the_keyboard(page: Any, web_server: WebServer,
                                                      tmp_path: Any) -> None:
    portal_login(page, web_server)
    page.get_by_role("link", name="New application").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"#apply$"))
    # the view's heading takes the focus; the form follows in tab order
    expect_focus(page, "tagName", "H2")
    page.keyboard.press("Tab")  # the process: standard is chosen
    expect_focus(page, "id", "template-standard")
    page.keyboard.press("ArrowDown")  # arrow keys move within the radio group: express
    expect_focus(page, "id", "template-express")
    assert page.get_by_label(re.compile("External works")).is_disabled()
    page.keyboard.press("Tab")
    expect_focus(page, "id", "address")
    page.keyboard.type("8 Canal Lane")
    page.keyboard.press("Tab")
    page.keyboard.type("+86 139 1111 2222")
    page.keyboard.press("Tab")  # the meter size keeps DN15
    page.keyboard.press("Tab")  # the disabled check box is skipped: the Next button
    expect_focus(page, "id", "next")
    page.keyboard.press("Enter")
    expect_focus(page, "id", "document")
    pdf = tmp_path / "licence.pdf"
    pdf.write_bytes(small_pdf("Licence"))
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(pdf))
    page.keyboard.press("Tab")  # back to step 1
    page.keyboard.press("Tab")  # submit
    expect_focus(page, "id", "submit-application")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"#applications/\d+$"))
    page.locator("#app-state").filter(has_text="Application received").wait_for()
    assert "Express" in page.locator(".app-summary").inner_text()
    assert page.locator("#stages li").count() == 4  # express: no design, no construction
    app_id = int(page.url.rsplit("/", 1)[1])
    with staff(web_server, Role.SERVICE_AGENT) as agent:
        assert agent.post(f"/connections/{app_id}/actions",
                          json={"action": "accept"}).status_code == 200
    # no click: the page follows the staff's move by itself and announces it
    page.locator("#app-state").filter(has_text="Accepted; site survey").wait_for(timeout=20_000)
    assert "Accepted; site survey" in page.locator("#status-region").inner_text()
    # withdraw with the keyboard: the confirmation takes the focus
    page.get_by_role("button", name="Withdraw the application").focus()
    page.keyboard.press("Enter")
    expect_focus(page, "id", "withdraw-yes")
    page.keyboard.press("Enter")
    page.locator("#app-state").filter(has_text="Withdrawn").wait_for()
    assert page.locator("#stages li .stage-status").all_inner_texts() == [
        "done", "done", "not reached", "not reached"]
    assert page.locator("#sla").count() == 0


def test_a_customer_sees_only_their_own_applications(page: Any, web_server: WebServer) -> None:
    owner = portal_login(page, web_server)
    with customer_api(web_server, owner) as api:
        doc = api.post("/documents", files={"file": ("id.pdf", small_pdf(), "application/pdf")})
        theirs = api.post("/connections", json={"address": "1 Private Road",
                                                 "contact_phone": "13800000000",
                                                 "document_id": doc.json()["id"]}).json()
    page.goto(f"{web_server.base_url}/portal#applications")
    page.locator("#applications-table").wait_for()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/$"))

    portal_login(page, web_server)  # another household
    page.locator("#no-applications").wait_for()
    assert "1 Private Road" not in page.locator("#view").inner_text()
    page.goto(f"{web_server.base_url}/portal#applications/{theirs['id']}")
    message = page.locator("#not-found")
    message.wait_for()
    assert message.inner_text() == (f"Connection application {theirs['id']} does not exist or "
                                    "is not yours: you can see only your own records.")
    assert "1 Private Road" not in page.content()
    assert page.get_by_role("alert").inner_text() == message.inner_text()
    check_accessibility(page)
