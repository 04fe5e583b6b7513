"""The plan document as PDF (ReportLab), with a small territory map (matplotlib).

Pages: a title page with the rep's numbers (book, potential, capacity, targets, the
quota with attainment and pace and the SMART goals, or what is missing) and the map of
the book with the targets; the target table with each rationale; the collaboration
list; the schedule by week with visit trips.
"""

from __future__ import annotations

import io
from typing import Any

from territorial.repplan.plan import RepPlan

TIER_COLORS = {"A": "#c0392b", "B": "#e67e22", "C": "#7f8c8d"}


def map_png(plan: RepPlan, *, width_in: float = 4.6, height_in: float = 3.6) -> bytes:
    """A small map: the book's accounts (grey), targets by tier, the rep's home (star)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=150)
    ax = fig.add_subplot()
    book = plan.book_points.dropna(subset=["latitude", "longitude"])
    ax.scatter(book["longitude"], book["latitude"], s=4, c="#c8ccd0", label="book", lw=0)
    targets = plan.targets.dropna(subset=["latitude", "longitude"])
    for tier, rows in targets.groupby("tier"):
        ax.scatter(
            rows["longitude"],
            rows["latitude"],
            s=22,
            c=TIER_COLORS.get(str(tier), "#333"),
            label=f"target tier {tier}",
            edgecolors="white",
            linewidths=0.5,
        )
    lat, lon = plan.rep.get("home_latitude"), plan.rep.get("home_longitude")
    if lat is not None and lon is not None and lat == lat and lon == lon:
        ax.scatter([lon], [lat], marker="*", s=120, c="#2c3e50", label="home")
    ax.set_xlabel("longitude", fontsize=7)
    ax.set_ylabel("latitude", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.set_aspect(1.25)
    ax.legend(fontsize=6, loc="best", frameon=False)
    ax.grid(True, lw=0.3, alpha=0.5)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def _money(value: float) -> str:
    return f"${value:,.0f}"


def pdf_bytes(plan: RepPlan) -> bytes:
    """The PDF document (see the module docstring)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import landscape, letter
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import inch
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import (
        Image,
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    styles = getSampleStyleSheet()
    small = ParagraphStyle("small", parent=styles["BodyText"], fontSize=7.5, leading=9)
    cell = ParagraphStyle("cell", parent=styles["BodyText"], fontSize=7, leading=8.4)
    head = ParagraphStyle("head", parent=cell, fontName="Helvetica-Bold", textColor=colors.white)
    rep = plan.rep
    n = plan.numbers

    def table(rows: list[list[Any]], widths: list[float], *, zebra: bool = True) -> Table:
        t = Table(rows, colWidths=widths, repeatRows=1)
        style = [
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#2c3e50")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#bdc3c7")),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            # plain-text cells (short ones skip the costly Paragraph layout)
            ("FONTSIZE", (0, 1), (-1, -1), 7),
            ("LEADING", (0, 1), (-1, -1), 8.4),
        ]
        if zebra:
            style.append(
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f4f6f7")])
            )
        t.setStyle(TableStyle(style))
        return t

    def p(text: Any, style: ParagraphStyle = cell) -> Paragraph:
        from xml.sax.saxutils import escape

        return Paragraph(escape("" if text is None else str(text)), style)

    story: list[Any] = []
    story.append(Paragraph(f"Territory plan: {rep.get('name')} ({plan.rep_id})", styles["Title"]))
    story.append(
        Paragraph(
            f"{', '.join(plan.territories)} &middot; {plan.start:%d %b %Y} to {plan.end:%d %b %Y}"
            f" &middot; data as of {plan.as_of:%d %b %Y} &middot; "
            + ("active territory model #" + str(plan.plan_id) if plan.plan_id else "CRM owners"),
            styles["Normal"],
        )
    )
    story.append(Spacer(1, 0.15 * inch))
    numbers = [
        [
            "Book",
            f"{n['book_accounts']:,} accounts, {n['customers']:,} customers, "
            f"{n['tier_a_accounts']:,} tier A",
        ],
        ["Potential", f"{_money(n['book_potential'])} per year"],
        [
            "Open pipeline",
            f"{_money(n['open_pipeline'])} in {n['open_opportunities']:,} opportunities",
        ],
        ["Capacity", f"{n['capacity_hours_per_week']:.1f} h/week ({n['capacity_source']})"],
        ["Existing customers", f"{n['customer_hours_per_week']:.1f} h/week of workload"],
        [
            "Target time",
            f"up to {n['target_hours_limit_per_week']:.1f} h/week"
            + (
                " (book overloaded: customers alone exceed the capacity left)"
                if n["overloaded"]
                else ""
            ),
        ],
        [
            "Targets",
            f"{n['targets']:,} ({n['expansion_targets']:,} expansion, "
            f"{n['new_logo_targets']:,} new logos), potential {_money(n['target_potential'])}",
        ],
        [
            "Planned",
            f"{n['planned_hours']:.0f} h; busiest week {n['busiest_week_hours']:.1f} h "
            "incl. customers",
        ],
        [
            "Visits",
            f"{n['visits']:,} on {n['visit_days']:,} days, {n['travel_hours']:.1f} h driving "
            f"({n['travel_hours_saved']:.1f} h saved by grouping)",
        ],
    ]
    if plan.goals is not None:
        numbers.extend([label, text] for label, text in plan.goals.lines())
    facts = Table(
        [[p(k, small), p(v, small)] for k, v in numbers], colWidths=[1.3 * inch, 3.6 * inch]
    )
    facts.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d5d8dc")),
            ]
        )
    )
    png = map_png(plan)
    image = Image(io.BytesIO(png), width=4.6 * inch, height=3.6 * inch)
    _ = ImageReader  # the image is embedded from memory
    story.append(
        Table(
            [[facts, image]],
            colWidths=[5.1 * inch, 4.8 * inch],
            style=[("VALIGN", (0, 0), (-1, -1), "TOP")],
        )
    )
    story.append(PageBreak())

    story.append(Paragraph("Targets", styles["Heading2"]))
    rows: list[list[Any]] = [
        [
            p(h, head)
            for h in (
                "#",
                "Account",
                "Tier",
                "Potential",
                "Why",
                "Lead with / offer",
                "Team",
                "Starts",
            )
        ]
    ]
    for t in plan.targets.itertuples():
        rows.append(
            [
                p(t.rank),
                p(f"{t.account_name} ({t.account_id}), {t.city}, {t.state}; {t.pool}"),
                p(t.tier),
                p(_money(t.potential)),
                p(t.rationale),
                p(f"{t.product or ''}: {t.offer} [{t.offer_rule}]"),
                p(t.collaboration or "-"),
                p(f"{t.first_step_date:%d %b}" if t.first_step_date else ""),
            ]
        )
    story.append(
        table(
            rows,
            [
                0.3 * inch,
                1.5 * inch,
                0.35 * inch,
                0.65 * inch,
                4.1 * inch,
                1.7 * inch,
                0.8 * inch,
                0.5 * inch,
            ],
        )
    )

    story.append(PageBreak())
    story.append(Paragraph("Collaboration", styles["Heading2"]))
    if plan.collaboration.empty:
        story.append(
            Paragraph("No playbook rule asks for other teams on these targets.", styles["Normal"])
        )
    else:
        rows = [[p(h, head) for h in ("Team", "Account", "What", "Rule")]]
        for c in plan.collaboration.sort_values(["team", "account_name"]).itertuples():
            rows.append([c.team, p(f"{c.account_name} ({c.account_id})"), p(c.action), c.rule])
        story.append(table(rows, [1.2 * inch, 2.4 * inch, 4.6 * inch, 1.6 * inch]))
    if len(plan.trips):
        story.append(Paragraph("Visit days", styles["Heading2"]))
        rows = [
            [
                p(h, head)
                for h in ("Day", "Visits", "Where", "Miles", "Driving (h)", "Separately (h)")
            ]
        ]
        for trip in plan.trips.itertuples():
            rows.append(
                [
                    p(f"{trip.date:%a %d %b}"),
                    p(trip.stops),
                    p(trip.cities),
                    p(f"{trip.miles:.0f}"),
                    p(f"{trip.travel_hours:.1f}"),
                    p(f"{trip.separate_hours:.1f}"),
                ]
            )
        story.append(
            table(rows, [0.9 * inch, 4.2 * inch, 2.2 * inch, 0.6 * inch, 0.8 * inch, 0.9 * inch])
        )

    story.append(PageBreak())
    story.append(Paragraph("Schedule", styles["Heading2"]))
    weekly = plan.weekly.set_index("week")
    rows = [[p(h, head) for h in ("Week", "Date", "Channel", "Account", "Step")]]
    for s in plan.schedule.itertuples():
        name = str(s.account_name)
        rows.append(
            [
                f"{s.week} ({weekly.loc[s.week, 'target_hours']:.1f} h)",
                f"{s.date:%a %d %b}",
                s.channel,
                name if len(name) <= 45 else name[:44] + "...",
                p(s.step) if len(str(s.step)) > 80 else str(s.step),
            ]
        )
    story.append(table(rows, [0.8 * inch, 0.8 * inch, 0.7 * inch, 2.4 * inch, 5.2 * inch]))

    out = io.BytesIO()

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(
            0.5 * inch,
            0.35 * inch,
            f"Territorial - territory plan of {rep.get('name')} ({plan.rep_id}), "
            f"playbook {plan.playbook_source}",
        )
        canvas.drawRightString(10.5 * inch, 0.35 * inch, f"page {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        out,
        pagesize=landscape(letter),
        leftMargin=0.5 * inch,
        rightMargin=0.5 * inch,
        topMargin=0.5 * inch,
        bottomMargin=0.55 * inch,
        title=f"Territory plan {rep.get('name')}",
        author="Territorial",
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


__all__ = ["map_png", "pdf_bytes"]
