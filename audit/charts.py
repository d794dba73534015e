"""Server-side SVG charts for the audit report pages.

A chart is one inline ``<svg>`` element built here from a ``(day, value)`` series: no
JavaScript, nothing fetched from anywhere, so the report pages work offline and behind
a strict Content-Security-Policy. Every piece of text that reaches the SVG (title, axis
labels, day labels, tooltips) is escaped here, because series labels can come from audit
rows, which copy what clients sent.

The chart is accessible without sight: ``role="img"`` with a ``<title>`` and a
``<desc>`` that summarises the series, and one ``<title>`` per bar or point (the browser
shows it as a tooltip). The page shows the same numbers in a table next to the chart.
"""

import math
from collections.abc import Sequence
from datetime import date, datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 760
HEIGHT = 260
# Room for the y tick labels and the rotated y axis title on the left, the day labels
# and the x axis title at the bottom.
MARGIN_LEFT = 64
MARGIN_RIGHT = 16
MARGIN_TOP = 16
MARGIN_BOTTOM = 52
# Day labels are about 44px wide ("Dec 31"); fewer than this many pixels per label and
# they would overlap, so only every n-th day is labelled.
PIXELS_PER_DAY_LABEL = 64

# Fallback colours (the admin's own palette); the page's CSS overrides them with the
# admin's CSS variables, so the chart follows the light and dark themes.
BAR_COLOUR = "#79aec8"
LINE_COLOUR = "#417690"
AXIS_COLOUR = "#666"
GRID_COLOUR = "#ddd"


def bar_chart(series: Sequence[tuple], *, title: str, value_label: str, x_label: str = "Day (UTC)",
              chart_id: str = "chart") -> SafeString:
    """One bar per ``(day, value)`` pair, in the order given."""
    return _chart(series, kind="bar", title=title, value_label=value_label, x_label=x_label, chart_id=chart_id)


def line_chart(series: Sequence[tuple], *, title: str, value_label: str, x_label: str = "Day (UTC)",
               chart_id: str = "chart") -> SafeString:
    """One point per ``(day, value)`` pair joined by a line; a ``None`` value is a gap."""
    return _chart(series, kind="line", title=title, value_label=value_label, x_label=x_label, chart_id=chart_id)


def format_value(value) -> str:
    """12345 -> ``12,345``; 2.25 -> ``2.2``; None -> an em dash."""
    if value is None:
        return "—"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def day_label(day) -> str:
    """``Jan 5`` for a date, the text itself for anything else."""
    if isinstance(day, datetime):
        day = day.date()
    if isinstance(day, date):
        return f"{day:%b} {day.day}"
    return str(day)


def _full_label(day) -> str:
    if isinstance(day, datetime):
        day = day.date()
    return day.isoformat() if isinstance(day, date) else str(day)


def nice_step(maximum: float, ticks: int = 5) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) giving at most ``ticks`` steps."""
    if maximum <= 0:
        return 1
    raw = maximum / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if multiple * magnitude >= raw:
            return multiple * magnitude
    return 10 * magnitude  # unreachable: 10 * magnitude >= raw always


def _chart(series, *, kind, title, value_label, x_label, chart_id) -> SafeString:
    points = [(day, value) for day, value in series]
    values = [value for _, value in points if value is not None]
    top = max(values, default=0)
    step = nice_step(top)
    if isinstance(step, float) and step.is_integer():
        step = int(step)
    # Counts get whole-number ticks: a step of 0.5 downloads reads as nonsense.
    if all(isinstance(value, int) for value in values) and step < 1:
        step = 1
    axis_top = step * max(1, math.ceil(top / step))

    plot_left, plot_right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    plot_top, plot_bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
    plot_width, plot_height = plot_right - plot_left, plot_bottom - plot_top

    def y_of(value) -> float:
        return plot_bottom - plot_height * (value / axis_top)

    e = escape
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart report-chart-{kind}" id="{e(chart_id)}" '
        f'role="img" aria-labelledby="{e(title_id)} {e(desc_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" preserveAspectRatio="xMinYMin meet" '
        f'font-family="sans-serif" font-size="11">',
        f'<title id="{e(title_id)}">{escape(title)}</title>',
        f'<desc id="{e(desc_id)}">{escape(_describe(points, values, value_label))}</desc>',
    ]

    # Grid lines and y tick labels.
    parts.append('<g class="chart-y-axis">')
    tick = 0
    while tick <= axis_top + step / 1000:
        y = y_of(tick)
        parts.append(
            f'<line class="chart-grid" x1="{plot_left}" x2="{plot_right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID_COLOUR}" stroke-width="1"/>'
            f'<text class="chart-tick" x="{plot_left - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'fill="{AXIS_COLOUR}">{escape(format_value(tick))}</text>'
        )
        tick += step
    parts.append(
        f'<text class="chart-axis-title" transform="translate(14 {plot_top + plot_height / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle" fill="{AXIS_COLOUR}">{escape(value_label)}</text></g>'
    )

    # X axis, day labels (every n-th, so they never overlap) and its title.
    slot = plot_width / max(1, len(points))
    every = max(1, math.ceil(len(points) / max(1, plot_width // PIXELS_PER_DAY_LABEL)))
    parts.append(
        f'<g class="chart-x-axis"><line x1="{plot_left}" x2="{plot_right}" y1="{plot_bottom}" y2="{plot_bottom}" '
        f'stroke="{AXIS_COLOUR}" stroke-width="1"/>'
    )
    for index, (day, _) in enumerate(points):
        if index % every == 0:
            x = plot_left + slot * (index + 0.5)
            parts.append(
                f'<text class="chart-day" x="{x:.1f}" y="{plot_bottom + 16}" text-anchor="middle" '
                f'fill="{AXIS_COLOUR}">{escape(day_label(day))}</text>'
            )
    parts.append(
        f'<text class="chart-axis-title" x="{plot_left + plot_width / 2:.1f}" y="{HEIGHT - 8}" '
        f'text-anchor="middle" fill="{AXIS_COLOUR}">{escape(x_label)}</text></g>'
    )

    if not points:
        parts.append(
            f'<text class="chart-empty" x="{plot_left + plot_width / 2:.1f}" y="{plot_top + plot_height / 2:.1f}" '
            f'text-anchor="middle" fill="{AXIS_COLOUR}">No data in this period</text>'
        )
    elif kind == "bar":
        bar_width = max(1.0, slot * 0.8)
        parts.append('<g class="chart-bars">')
        for index, (day, value) in enumerate(points):
            value = value or 0
            x = plot_left + slot * index + (slot - bar_width) / 2
            y = y_of(value)
            parts.append(
                f'<rect class="chart-bar" x="{x:.1f}" y="{y:.1f}" width="{bar_width:.1f}" '
                f'height="{plot_bottom - y:.1f}" fill="{BAR_COLOUR}" data-day="{e(_full_label(day))}" '
                f'data-value="{e(str(value))}"><title>{escape(_point_title(day, value, value_label))}</title></rect>'
            )
        parts.append("</g>")
    else:
        parts.append('<g class="chart-line">')
        segment = []
        coordinates = []
        for index, (day, value) in enumerate(points):
            if value is None:
                coordinates.append(segment)
                segment = []
                continue
            segment.append((plot_left + slot * (index + 0.5), y_of(value), day, value))
        coordinates.append(segment)
        for segment in coordinates:
            if len(segment) > 1:
                line = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in segment)
                parts.append(f'<polyline points="{line}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2"/>')
        for segment in coordinates:
            for x, y, day, value in segment:
                parts.append(
                    f'<circle class="chart-point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{LINE_COLOUR}" '
                    f'data-day="{e(_full_label(day))}" data-value="{e(str(value))}">'
                    f'<title>{escape(_point_title(day, value, value_label))}</title></circle>'
                )
        parts.append("</g>")

    parts.append("</svg>")
    # Safe: every interpolated string above went through escape(), and every
    # number was formatted here.
    return mark_safe("".join(parts))


def _point_title(day, value, value_label: str) -> str:
    return f"{_full_label(day)}: {format_value(value)} {value_label.lower()}"


def _describe(points, values, value_label: str) -> str:
    if not points:
        return f"{value_label}: no data in this period."
    first, last = _full_label(points[0][0]), _full_label(points[-1][0])
    if not values:
        return f"{value_label} for {len(points)} days from {first} to {last}: no data."
    best_day, best = max((pair for pair in points if pair[1] is not None), key=lambda pair: pair[1])
    return (
        f"{value_label} for {len(points)} days from {first} to {last}; "
        f"highest {format_value(best)} on {_full_label(best_day)}."
    )
