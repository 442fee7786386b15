"""The timeline explorer: the lanes drawn as inline SVG with what is not known shaded and labelled, the table in
the home's order and on its clock, and every look recorded as the API records it."""

import re
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from sqlalchemy import select

from hub.db.models import PendingHubEvent
from tests.dashboard.conftest import Dashboard
from tests.dashboard.nights import NIGHT, T0, store_night
from tests.hub.conftest import DEVICE

SVG = "{http://www.w3.org/2000/svg}"
WINDOW_START = datetime(2026, 7, 15, 19, 0, tzinfo=UTC)  # 20:00 BST
WINDOW_S = 12 * 3600
LEFT, RIGHT = 190, 960


def x_of(moment: datetime) -> float:
    return round(LEFT + (RIGHT - LEFT) * (moment - WINDOW_START).total_seconds() / WINDOW_S, 1)


def reads(dashboard: Dashboard) -> list[dict[str, Any]]:
    with dashboard.people.sessions() as session:
        return [row.data for row in session.scalars(select(PendingHubEvent).where(
            PendingHubEvent.type == "hub.timeline.read").order_by(PendingHubEvent.id))]


def get(dashboard: Dashboard, who: str, params: dict[str, Any]) -> Any:
    with dashboard.client() as client:
        return client.get("/timelines", params=params, headers=dashboard.signed_in(who).headers)


def picture(html: str) -> ElementTree.Element:
    found = re.search(r"<svg.*?</svg>", html, re.S)
    assert found, "no picture on the page"
    return ElementTree.fromstring(found.group(0))


def table(html: str, label: str) -> list[list[str]]:
    region = re.search(rf'aria-label="{label}".*?<tbody>(.*?)</tbody>', html, re.S)
    assert region, f"no table {label!r}"
    return [[unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", region.group(1), re.S)]


def test_a_rooms_night_is_drawn_with_the_offline_span_and_the_gap_shaded_and_labelled(dashboard: Dashboard) -> None:
    store_night(dashboard.people.sessions)
    answer = get(dashboard, "meg", {"view": "room", "room": "room-12", "night": NIGHT.isoformat(),
                                    "reason": "a family's question"})
    assert answer.status_code == 200, answer.text
    svg = picture(answer.text)
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "picture-title picture-desc"
    assert svg.find(f"{SVG}title").text == ("Timeline of Room room-12, 15 Jul 2026 20:00:00 BST to "
                                            "16 Jul 2026 08:00:00 BST")
    description = svg.find(f"{SVG}desc").text
    assert "2 events never received (seq 8–9)" in description and "no heartbeat for 36 min" in description

    shades = {(rect.get("fill"), rect.get("x"), rect.get("width")): rect.find(f"{SVG}title").text
              for rect in svg.iter(f"{SVG}rect") if rect.get("class") == "shade"}
    offline_from, offline_to = T0 + timedelta(minutes=4), T0 + timedelta(minutes=40)
    span = (str(x_of(offline_from)), str(round(x_of(offline_to) - x_of(offline_from), 1)))
    assert shades[("url(#shade-gap)", *span)] == (
        f"{DEVICE}: 2 events never received (seq 8–9), from 15 Jul 2026 22:04:00 BST to 15 Jul 2026 22:40:00 BST")
    assert shades[("url(#shade-device_offline)", *span)] == (
        f"{DEVICE}: no heartbeat for 36 min, from 15 Jul 2026 22:04:00 BST to 15 Jul 2026 22:40:00 BST")
    # Not heard from before 22:00 nor after 22:42 either, to the end of the window.
    assert ("url(#shade-device_offline)", str(float(LEFT)), str(x_of(T0) - LEFT)) in shades
    labels = [text.text for text in svg.iter(f"{SVG}text") if "row-label" in (text.get("class") or "")]
    assert labels == ["Entry decisions", "Not heard from", "Events missing", "Door", "Knock and answer",
                      "Indicator", "Motion", "Staff actions", "Alerts", "Environment", "Device health",
                      "Hub records"]
    [overlay] = [group for group in svg.iter(f"{SVG}g") if "overlay" in (group.get("class") or "")]
    assert "overlay--unpermitted" in overlay.get("class")
    assert overlay.find(f"{SVG}line").get("x1") == str(x_of(T0 + timedelta(minutes=2.25)))

    # What is not known, in words on the page too.
    assert (f"{DEVICE}: 2 events never received (seq 8–9): from 15 Jul 2026 22:04:00 BST to "
            "15 Jul 2026 22:40:00 BST.") in unescape(answer.text)
    assert "was not heard from 15 Jul 22:04 BST to 15 Jul 22:40 BST" in unescape(answer.text)

    rows = table(answer.text, "Every event")
    assert [(time, lane, what) for time, lane, _source, what, _basis, _late in rows if lane != "Device health"] == [
        ("15 Jul 2026 22:02:00 BST", "Knock and answer", "knock (button) by sam (room-12, d1)"),
        ("15 Jul 2026 22:02:00 BST", "Indicator", "indicator: waiting (room-12, d1)"),
        ("15 Jul 2026 22:02:15 BST", "Door", "door opened (room-12, d1)"),
        ("15 Jul 2026 22:41:00 BST", "Door", "door closed (room-12, d1)"),
    ]
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)
    assert [row[2] for row in rows] == [f"{DEVICE} #{seq}" for seq in (1, 2, 3, 4, 5, 6, 7, 10, 11, 12)]
    assert {row[4] for row in rows} == {"device clock, synced"}
    [entry] = table(answer.text, "Entry decisions")
    assert entry[:5] == ["E1", "15 Jul 2026 22:02:15 BST", "room-12", "sam",
                         "Entry recorded without an answer from the resident: waited 15 s of 30 s."]

    [read] = reads(dashboard)
    assert (read["by"], read["what"], read["query"]["room"], read["query"]["reason"], read["query"]["format"]) == (
        "meg", "timeline.room", "room-12", "a family's question", "page")
    assert read["query"]["from"] == WINDOW_START.isoformat()


def test_the_table_lists_the_lanes_asked_for_and_a_window_of_ones_own(dashboard: Dashboard) -> None:
    store_night(dashboard.people.sessions)
    answer = get(dashboard, "nia", {"view": "room", "room": "room-12", "from": "2026-07-15T22:01",
                                    "to": "2026-07-15T22:30", "lane": ["door", "indicator"]})
    assert answer.status_code == 200, answer.text
    assert [row[3] for row in table(answer.text, "Every event")] == [
        "indicator: waiting (room-12, d1)", "door opened (room-12, d1)"]
    [read] = reads(dashboard)
    assert (read["by"], read["query"]["from"], read["query"]["to"]) == (
        "nia", "2026-07-15T21:01:00+00:00", "2026-07-15T21:30:00+00:00")  # the form's times are the home's


def test_a_member_of_staff_and_the_whole_home(dashboard: Dashboard) -> None:
    store_night(dashboard.people.sessions)
    staff = get(dashboard, "meg", {"view": "staff", "staff": "sam", "night": NIGHT.isoformat()})
    assert staff.status_code == 200 and "Timeline: Sam" in staff.text
    assert [row[3] for row in table(staff.text, "Every event")] == [
        "knock (button) by sam (room-12, d1)", "door opened (room-12, d1)"]
    home = get(dashboard, "nia", {"view": "home", "night": NIGHT.isoformat()})
    assert home.status_code == 200 and "Timeline: All of Oakwood" in home.text
    assert "Open a case" not in home.text  # cases are a manager's
    assert [(read["by"], read["what"]) for read in reads(dashboard)] == [
        ("meg", "timeline.staff"), ("nia", "timeline.home")]


@pytest.mark.parametrize(("params", "status", "message"), [
    ({"view": "room", "room": "room-12", "night": "2026-02-30"}, 400, "is not the date of a night"),
    ({"view": "room", "room": "room-12", "from": "2026-07-15T22:00"}, 400, "`from` and `to`"),
    ({"view": "room", "room": "room-12", "from": "2026-07-16T22:00", "to": "2026-07-15T22:00"}, 400,
     "`to` must be after `from`"),
    ({"view": "room", "room": "room-01", "night": "2026-07-15"}, 404, "There is no room"),  # Elmfield's
    ({"view": "staff", "staff": "eve", "night": "2026-07-15"}, 404, "There is no member of staff"),  # Elmfield's
    ({"view": "somebody"}, 422, "view"),
])
def test_a_bad_choice_is_refused_and_nothing_is_read(dashboard: Dashboard, params: dict[str, str], status: int,
                                                     message: str) -> None:
    answer = get(dashboard, "meg", params)
    assert answer.status_code == status and message in unescape(answer.text)
    assert reads(dashboard) == []


def test_the_form_alone_reads_nothing(dashboard: Dashboard) -> None:
    store_night(dashboard.people.sessions)
    answer = get(dashboard, "meg", {})
    assert answer.status_code == 200 and "<svg" not in answer.text and 'value="room-12" selected' in answer.text
    assert reads(dashboard) == []
