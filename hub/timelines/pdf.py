"""A timeline as a PDF: the lanes as a picture, then the entries with their corroboration, what is not known, and
every item in a table. reportlab draws it in-process: no browser, no network, no fonts fetched."""

from datetime import datetime
from io import BytesIO
from zoneinfo import ZoneInfo

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from hub.timelines.model import Timeline, UnknownKind

PAGE = landscape(A4)
LABEL_W = 95.0
LANE_H = 18.0
ROWS_PER_TABLE = 200
SHADES = {
    UnknownKind.GAP: colors.Color(0.85, 0.3, 0.3, alpha=0.35),
    UnknownKind.DEVICE_OFFLINE: colors.Color(0.4, 0.4, 0.4, alpha=0.35),
    UnknownKind.CLOCK_UNSYNCED: colors.Color(0.9, 0.7, 0.1, alpha=0.35),
    UnknownKind.LATE_ARRIVAL: colors.Color(0.3, 0.5, 0.9, alpha=0.3),
}
OUTCOME_COLOURS = {"permitted": colors.darkgreen, "unpermitted": colors.darkred}
GRID = TableStyle([
    ("FONT", (0, 0), (-1, -1), "Helvetica", 7),
    ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7),
    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.92, 0.92, 0.92)),
])


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%d %b %H:%M:%S %Z") if moment else "—"


def _lanes(timeline: Timeline, width: float) -> Drawing:
    lanes = list(timeline.lanes)
    height = LANE_H * (len(lanes) + 2)
    drawing = Drawing(width, height)
    span = (timeline.end - timeline.start).total_seconds() or 1.0
    plot_w = width - LABEL_W - 10

    def x(moment: datetime) -> float:
        seconds = min(max((moment - timeline.start).total_seconds(), 0.0), span)
        return LABEL_W + plot_w * seconds / span

    def y(index: int) -> float:
        return height - LANE_H * (index + 1.5)

    for index, lane in enumerate(lanes):
        drawing.add(String(2, y(index) - 3, lane.value.replace("_", " "), fontSize=7))
        drawing.add(Line(LABEL_W, y(index), LABEL_W + plot_w, y(index), strokeColor=colors.lightgrey))
    for unknown in timeline.unknowns:
        left, right = x(unknown.start), x(unknown.end or timeline.end)
        drawing.add(Rect(left, LANE_H * 0.5, max(right - left, 1.5), height - LANE_H * 1.5, strokeColor=None,
                         fillColor=SHADES[unknown.kind]))
    row_of = {lane: index for index, lane in enumerate(lanes)}
    for item in timeline.items:
        if item.lane in row_of:
            left, middle = x(item.at), y(row_of[item.lane])
            drawing.add(Line(left, middle - 4, left, middle + 4, strokeColor=colors.black, strokeWidth=0.6))
    for entry in timeline.entries:
        left = x(entry.opened_at)
        colour = OUTCOME_COLOURS.get(entry.outcome, colors.black)
        drawing.add(Line(left, LANE_H * 0.5, left, height - LANE_H * 0.5, strokeColor=colour, strokeWidth=1.2))
        drawing.add(String(left + 2, height - LANE_H * 0.9, f"{entry.reason} ({entry.corroborated_by})",
                           fontSize=6, fillColor=colour))
    zone = ZoneInfo(timeline.time_zone)
    drawing.add(String(LABEL_W, 2, _local(timeline.start, zone), fontSize=6))
    drawing.add(String(LABEL_W + plot_w, 2, _local(timeline.end, zone), fontSize=6, textAnchor="end"))
    return drawing


def _table(header: list[str], rows: list[list[str]], widths: list[float]) -> list[LongTable]:
    style = getSampleStyleSheet()["BodyText"].clone("cell", fontSize=7, leading=8)
    tables = []
    for first in range(0, max(len(rows), 1), ROWS_PER_TABLE):
        chunk = [[Paragraph(cell, style) for cell in row] for row in rows[first:first + ROWS_PER_TABLE]]
        table = LongTable([header, *chunk], colWidths=widths, repeatRows=1)
        table.setStyle(GRID)
        tables.append(table)
    return tables


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_pdf(timeline: Timeline) -> bytes:
    zone = ZoneInfo(timeline.time_zone)
    styles = getSampleStyleSheet()
    out = BytesIO()
    document = SimpleDocTemplate(out, pagesize=PAGE, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
                                 bottomMargin=12 * mm, title=f"Timeline: {timeline.view} {timeline.subject}",
                                 author="Threshold hub")
    width = PAGE[0] - 24 * mm
    story: list = [
        Paragraph(_escape(f"Timeline of {timeline.view.value} {timeline.subject} ({timeline.site})"), styles["Title"]),
        Paragraph(_escape(f"{_local(timeline.start, zone)} to {_local(timeline.end, zone)}; "
                          f"order: {timeline.order_basis.rule}"), styles["BodyText"]),
        Spacer(1, 4 * mm),
        _lanes(timeline, width),
        Spacer(1, 4 * mm),
    ]
    story += [Paragraph(_escape(line), styles["BodyText"]) for line in timeline.summary]
    story += [Spacer(1, 3 * mm), Paragraph("Entries", styles["Heading2"])]
    story += _table(
        ["opened", "room", "who", "decision", "rev.", "corroborated by", "missing"],
        [[_local(e.opened_at, zone), e.room or "", e.who, _escape(f"{e.outcome}: {e.sentence}"), str(e.revision),
          _escape(f"{e.corroborated_by}: " + ", ".join(s.source for s in e.supports if s.present)),
          _escape(", ".join(e.missing))] for e in timeline.entries],
        [70, 45, 55, 250, 25, 150, 150])
    story += [Spacer(1, 3 * mm), Paragraph("Not known", styles["Heading2"])]
    story += _table(
        ["kind", "source", "from", "to", "what"],
        [[u.kind.value, u.source, _local(u.start, zone), _local(u.end, zone), _escape(u.text)]
         for u in timeline.unknowns],
        [70, 70, 80, 80, 445])
    story += [Spacer(1, 3 * mm), Paragraph("Every item", styles["Heading2"])]
    story += _table(
        ["time", "lane", "source / seq", "what", "device time", "received", "order basis"],
        [[_local(i.at, zone), i.lane.value, f"{i.source} / {i.seq}", _escape(i.text),
          _local(datetime.fromtimestamp(i.device_ts_ms / 1000, zone), zone), _local(i.received_at, zone),
          _escape(i.basis + (f"; late by {i.late_ms // 1000} s" if i.late_ms else ""))] for i in timeline.items],
        [75, 60, 70, 200, 75, 75, 190])
    document.build(story)
    return out.getvalue()
