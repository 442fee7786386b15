"""The PDF opens, draws the lanes, and names the entries and what is not known."""

from io import BytesIO

from pypdf import PdfReader

from hub.timelines.assemble import assemble
from hub.timelines.pdf import render_pdf
from tests.hub.timelines.night import Night, at, entry


def test_the_pdf_opens_and_names_the_entries_and_the_unknowns() -> None:
    night = Night()
    for minute in (0, 1, 2, 40):
        night.heartbeat("door-7", at(minute))
    opened = night.add("door-7", "door.opened", at(1.5))
    decided = entry(opened, outcome="unpermitted", reason="did_not_wait", sentence="did not wait: 12 s of 30 s",
                    who="sam")
    pdf = render_pdf(assemble(night.found(entries=[decided], end=at(41))))
    reader = PdfReader(BytesIO(pdf))
    assert len(reader.pages) >= 1
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "did not wait: 12 s of 30 s" in text
    assert "door-7: no heartbeat for 38 min" in text
    assert "Timeline of room room-12" in text
