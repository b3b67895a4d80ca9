"""The lineage graph of one artifact as SVG: what it was made from (parents, the job that produced it) on the
left, the artifact in the middle, what was made from it (children, jobs that used it) on the right. Every node
links to its page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

NODE_W, NODE_H, GAP, COLUMN_GAP = 240, 38, 12, 60
FILLS = {"artifact": "#eff6ff", "job": "#fef9c3", "self": "#dbeafe"}


@dataclass(frozen=True)
class Node:
    label: str
    detail: str
    href: str
    kind: str  # "artifact", "job" or "self"


def _column_y(count: int, height: float) -> list[float]:
    used = count * NODE_H + (count - 1) * GAP
    start = (height - used) / 2
    return [start + i * (NODE_H + GAP) for i in range(count)]


def _node(node: Node, x: float, y: float) -> str:
    label = node.label if len(node.label) <= 30 else node.label[:29] + "…"
    return (
        f'<a href="{escape(node.href)}"><g class="lineage-node">'
        f'<rect x="{x:.0f}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{FILLS[node.kind]}" '
        f'stroke="{"#1d4ed8" if node.kind == "self" else "#94a3b8"}" stroke-width="{2 if node.kind == "self" else 1}"/>'
        f'<text x="{x + 8:.0f}" y="{y + 16:.0f}" font-family="system-ui, sans-serif" font-size="12" '
        f'font-weight="600">{escape(label)}</text>'
        f'<text x="{x + 8:.0f}" y="{y + 30:.0f}" font-family="system-ui, sans-serif" font-size="10" '
        f'fill="#475569">{escape(node.detail)}</text></g></a>'
    )


def _edge(x1: float, y1: float, x2: float, y2: float) -> str:
    middle = (x1 + x2) / 2
    return (
        f'<path d="M{x1:.0f},{y1:.0f} C{middle:.0f},{y1:.0f} {middle:.0f},{y2:.0f} {x2:.0f},{y2:.0f}" '
        'fill="none" stroke="#64748b" marker-end="url(#arrow)"/>'
    )


def lineage_svg(this: Node, inputs: Sequence[Node], outputs: Sequence[Node]) -> Markup:
    rows = max(len(inputs), len(outputs), 1)
    height = rows * NODE_H + (rows - 1) * GAP + 20
    width = 3 * NODE_W + 2 * COLUMN_GAP + 10
    xs = (5, 5 + NODE_W + COLUMN_GAP, 5 + 2 * (NODE_W + COLUMN_GAP))
    center_y = (height - NODE_H) / 2
    body = [
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#64748b"/></marker></defs>'
    ]
    for node, y in zip(inputs, _column_y(len(inputs), height), strict=True):
        body.append(_edge(xs[0] + NODE_W, y + NODE_H / 2, xs[1], center_y + NODE_H / 2))
        body.append(_node(node, xs[0], y))
    for node, y in zip(outputs, _column_y(len(outputs), height), strict=True):
        body.append(_edge(xs[1] + NODE_W, center_y + NODE_H / 2, xs[2], y + NODE_H / 2))
        body.append(_node(node, xs[2], y))
    body.append(_node(this, xs[1], center_y))
    title = f"lineage of {this.label}: {len(inputs)} inputs, {len(outputs)} outputs"
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" class="lineage"><title>{escape(title)}</title>{"".join(body)}</svg>'
    )
