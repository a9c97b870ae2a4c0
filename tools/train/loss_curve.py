"""Draws training and held-out loss against tokens seen, for one or more runs, as a plain SVG.

  loss_curve.py OUT.svg NAME=RUN_DIR/loss.csv [NAME=...]

(Standard library only: the plot is a few polylines, so no plotting package is needed.)
"""
import csv
import sys

W, H, LEFT, RIGHT, TOP, BOTTOM = 720, 420, 60, 170, 30, 50
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def read_runs(args):
    runs = []
    for arg in args:
        name, path = arg.split("=", 1)
        rows = list(csv.DictReader(open(path)))
        runs.append((name, [(int(r["tokens"]), float(r["train_loss"]), float(r["heldout_loss"])) for r in rows]))
    return runs


def main():
    out, runs = sys.argv[1], read_runs(sys.argv[2:])
    xs = [t for _, rows in runs for t, _, _ in rows]
    ys = [v for _, rows in runs for _, a, b in rows for v in (a, b)]
    x_max = max(xs)
    y_lo, y_hi = int(min(ys)) - 0.5, int(max(ys)) + 1
    px = lambda x: LEFT + (W - LEFT - RIGHT) * x / x_max
    py = lambda y: TOP + (H - TOP - BOTTOM) * (y_hi - y) / (y_hi - y_lo)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
             f'<rect width="{W}" height="{H}" fill="white"/>',
             f'<text x="{W / 2 - 60}" y="18" font-size="14">Training loss (nats/token)</text>']
    # Axes and grid.
    y = y_lo
    while y <= y_hi + 1e-9:
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{py(y):.1f}" y2="{py(y):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{py(y) + 4:.1f}" text-anchor="end">{y:g}</text>')
        y += 0.5
    for i in range(6):
        x = x_max * i / 5
        parts.append(f'<text x="{px(x):.1f}" y="{H - BOTTOM + 18}" text-anchor="middle">{x / 1e6:.1f}M</text>')
    parts.append(f'<text x="{(W - RIGHT + LEFT) / 2}" y="{H - 12}" text-anchor="middle">tokens seen</text>')
    parts.append(f'<rect x="{LEFT}" y="{TOP}" width="{W - LEFT - RIGHT}" height="{H - TOP - BOTTOM}" fill="none" stroke="#333"/>')
    legend_y = TOP + 10
    for k, (name, rows) in enumerate(runs):
        color = COLORS[k % len(COLORS)]
        for column, dash, label in ((1, "4 3", "train"), (2, "", "held-out")):
            pts = " ".join(f"{px(r[0]):.1f},{py(r[column]):.1f}" for r in rows)
            parts.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/>')
            parts.append(f'<line x1="{W - RIGHT + 10}" x2="{W - RIGHT + 34}" y1="{legend_y}" y2="{legend_y}" stroke="{color}" '
                         f'stroke-width="2" stroke-dasharray="{dash}"/>')
            parts.append(f'<text x="{W - RIGHT + 40}" y="{legend_y + 4}">{name} {label}</text>')
            legend_y += 18
    parts.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
