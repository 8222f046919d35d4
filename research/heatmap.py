"""The results page's heatmap: the best objective value for each pair of two parameters' values, drawn as a
server-rendered SVG (no script needed, fits the page's CSP)."""

from django.utils.html import escape
from django.utils.safestring import mark_safe

CELL, LEFT, TOP, MAX_LABELS = 28, 90, 30, 30


def colour(value: float, low: float, high: float) -> str:
    """Red (worst) through pale yellow to green (best)."""
    share = 0.5 if high == low else (value - low) / (high - low)
    if share < 0.5:
        t = share / 0.5
        r, g, b = 215, int(48 + (223 - 48) * t), int(39 + (139 - 39) * t)
    else:
        t = (share - 0.5) / 0.5
        r, g, b = int(215 - (215 - 26) * t), int(223 - (223 - 152) * t), int(139 - (139 - 80) * t)
    return f"rgb({r},{g},{b})"


def _label(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def heatmap_svg(data: dict | None) -> str:
    if not data:
        return ""
    xs, ys, values = data["xs"], data["ys"], data["values"]
    found = [v for row in values for v in row if v is not None]
    if not found:
        return ""
    low, high = min(found), max(found)
    cell_w = max(8, min(CELL, 800 // max(len(xs), 1)))
    cell_h = max(8, min(CELL, 500 // max(len(ys), 1)))
    width, height = LEFT + cell_w * len(xs) + 10, TOP + cell_h * len(ys) + 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="heatmap-svg" class="heatmap" width="{width}" '
             f'height="{height}" role="img" aria-label="{escape(data["objective"])} by {escape(data["x"])} and '
             f'{escape(data["y"])}">']
    x_every = max(1, len(xs) // MAX_LABELS)
    y_every = max(1, len(ys) // MAX_LABELS)
    for j, vy in enumerate(ys):
        y = TOP + j * cell_h
        if j % y_every == 0:
            parts.append(f'<text x="{LEFT - 6}" y="{y + cell_h / 2 + 4}" text-anchor="end" font-size="11">'
                         f'{escape(_label(vy))}</text>')
        for i, vx in enumerate(xs):
            value = values[j][i]
            x = LEFT + i * cell_w
            fill = "#eee" if value is None else colour(value, low, high)
            title = (f"{data['x']}={_label(vx)}, {data['y']}={_label(vy)}: "
                     + ("no qualifying run" if value is None else f"{data['objective']} {value:.4g}"))
            shown = "" if value is None else f"{value:.6g}"
            parts.append(f'<rect x="{x}" y="{y}" width="{cell_w - 1}" height="{cell_h - 1}" fill="{fill}" '
                         f'data-x="{escape(_label(vx))}" data-y="{escape(_label(vy))}" '
                         f'data-value="{shown}"><title>{escape(title)}</title></rect>')
    bottom = TOP + cell_h * len(ys) + 14
    for i, vx in enumerate(xs):
        if i % x_every == 0:
            parts.append(f'<text x="{LEFT + i * cell_w + cell_w / 2}" y="{bottom}" text-anchor="middle" '
                         f'font-size="11">{escape(_label(vx))}</text>')
    parts.append(f'<text x="{LEFT + cell_w * len(xs) / 2}" y="{bottom + 20}" text-anchor="middle" font-size="12">'
                 f'{escape(data["x"])}</text>')
    parts.append(f'<text x="12" y="{TOP - 10}" font-size="12">{escape(data["y"])}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))
