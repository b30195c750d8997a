"""Turns a bench.sh work dir into perf/results/NAME.md (tables) and NAME.png (chart of the medians).

usage: report.py WORK_DIR OUT_PREFIX

Reads WORK_DIR/meta.tsv (machine, versions, per-lockfile sizes, peak RSS, tools that did not run)
and WORK_DIR/json/LOCK--SCENARIO--ROUND.json (hyperfine exports, one run per command per round;
warm-up rounds are named warmup-* and ignored). The chart is drawn by gnuplot.
"""
import collections
import glob
import json
import os
import statistics
import subprocess
import sys

TOOLS = ["pkg", "uv", "pip"]
COLUMNS = TOOLS + ["floor"]
SCENARIOS = ["install-cold", "install-warm", "no-op"]


def fmt_time(seconds):
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.0f} ms"


def fmt_cell(times):
    if not times:
        return "—"
    med = statistics.median(times)
    lo, hi = min(times), max(times)
    if hi >= 1:
        rng = f"{lo:.2f}–{hi:.2f}"
    else:
        rng = f"{lo * 1000:.0f}–{hi * 1000:.0f}"
    return f"**{fmt_time(med)}** ({rng})"


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    work, out = argv[1], argv[2]
    meta = {}
    locks = collections.OrderedDict()
    rss = {}
    na = {}
    reclaims = collections.Counter()
    with open(os.path.join(work, "meta.tsv"), encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if cols[0] == "lock":
                locks[cols[1]] = {"pins": int(cols[2]), "bytes": int(cols[3]), "files": int(cols[4])}
            elif cols[0] == "rss":
                rss[(cols[1], cols[2], cols[3])] = int(cols[4])
            elif cols[0] == "reclaim":
                reclaims[cols[1]] += 1
            elif cols[0] == "na":
                na[(cols[1], cols[2])] = cols[3]
            else:
                meta[cols[0]] = cols[1] if len(cols) > 1 else ""

    times = collections.defaultdict(list)   # (lock, scenario, tool) -> [seconds]
    for path in sorted(glob.glob(os.path.join(work, "json", "*--*--*.json"))):
        lock, scenario, _ = os.path.basename(path)[:-5].split("--")
        with open(path, encoding="utf-8") as f:
            for r in json.load(f)["results"]:
                times[(lock, scenario, r["command"])].extend(r["times"])

    scenarios = [s for s in SCENARIOS if any(k[1] == s for k in times)]
    lines = []
    title = f"# pkg, uv and pip: {meta.get('date', '')}"
    if meta.get("label"):
        title += f" ({meta['label']})"
    lines += [title, ""]
    if meta.get("label"):
        lines += [f"**{meta['label']}.** Figures from a machine doing other work are rankings at best; "
                  "draw no conclusions from them.", ""]
    lines += [
        f"`perf/bench.sh{' --quick' if meta.get('quick') == '1' else ''}`: {meta.get('runs')} timed runs per tool "
        f"and scenario after {meta.get('warmup')} warm-up round(s) (besides each tool's set-up install, which warms "
        "its cache and fills its no-op venv), one hyperfine round per run with the tools' "
        "order rotated every round; cells are **median** (min–max). Index: static PEP 691/503 pages and the "
        f"wheels from nginx on 127.0.0.1 over {meta.get('scheme', 'http').upper()}. Every tool installs the "
        "lockfile's pins without dependencies into a venv made outside the timed command "
        "(`python -m venv --without-pip`, pip hardlinked in for pip), with hardlinks from the cache (pkg, uv), "
        "no bytecode compilation, quiet. install-cold: empty cache, fresh venv. install-warm: the cache of "
        "one earlier install, fresh venv. no-op: everything already installed. Floors: cold = one parallel "
        "`curl` of every wheel to /dev/null + parallel `unzip` into a fresh dir; warm = `cp -al` of the "
        "unpacked wheels into a fresh dir. Ratios < 1 mean pkg is faster.",
        "",
        "| | |",
        "|---|---|",
    ]
    for key in ["os", "kernel", "cpu", "memory", "filesystem", "loadavg", "python", "pkg", "uv", "pip",
                "hyperfine", "nginx", "curl", "elapsed"]:
        if key in meta:
            value = meta[key]
            if key == "elapsed":
                value += " s for the whole run (build check, mirror check, index, setup, runs, report)"
                if int(meta.get("leftover", "0") or 0) > 0:
                    value += (f", not counting {meta['leftover']} s deleting an earlier run's leftover work dir "
                              "first (on this `discard` mount, file creation is slower for minutes after such a delete)")
            if key == "loadavg":
                value += " (at the start)"
            lines.append(f"| {key} | {value} |")
    lines.append("")

    chart_rows = []
    for lock, info in locks.items():
        lines.append(f"## {lock}: {info['pins']} wheels, {info['bytes'] / 1048576:.1f} MiB, "
                     f"{info['files']} files unpacked")
        lines.append("")
        if reclaims[lock]:
            lines += [f"Free disk space ran low: finished runs were deleted in bulk {reclaims[lock]} time(s) "
                      "between rounds (on this `discard` mount that slows the file creation after it).", ""]
        for (l, tool), why in na.items():
            if l == lock:
                lines += [f"{tool}: n/a ({why})", ""]
        lines.append("| scenario | pkg | uv | pip | floor | pkg/uv | pkg/pip |")
        lines.append("|---|---|---|---|---|---|---|")
        for s in scenarios:
            cells = [fmt_cell(times.get((lock, s, c), [])) for c in COLUMNS]
            if (lock, "pkg") in na:
                cells[0] = "n/a"
            ratios = []
            p = times.get((lock, s, "pkg"))
            for other in ("uv", "pip"):
                o = times.get((lock, s, other))
                ratios.append(f"{statistics.median(p) / statistics.median(o):.2f}" if p and o else "—")
            lines.append(f"| {s} | " + " | ".join(cells + ratios) + " |")
            chart_rows.append((f"{lock} {s}", [statistics.median(times[(lock, s, c)])
                                               if times.get((lock, s, c)) else None for c in COLUMNS]))
        lines.append("")
        lines.append("Peak RSS, MiB (one run under `/usr/bin/time -v`):")
        lines.append("")
        lines.append("| scenario | pkg | uv | pip | floor |")
        lines.append("|---|---|---|---|---|")
        for s in scenarios:
            cells = []
            for c in COLUMNS:
                v = rss.get((lock, s, c))
                cells.append(f"{v / 1024:.0f}" if v is not None else ("n/a" if (lock, c) in na else "—"))
            lines.append(f"| {s} | " + " | ".join(cells) + " |")
        lines.append("")

    png = out + ".png"
    lines += [f"![medians]({os.path.basename(png)})", ""]
    with open(out + ".md", "w", encoding="utf-8") as f:
        f.write("\n".join(lines))

    data = out + ".chart.tmp"
    with open(data, "w", encoding="utf-8") as f:
        f.write("label " + " ".join(COLUMNS) + "\n")
        for label, vals in chart_rows:
            f.write('"' + label + '" ' + " ".join(f"{v:.6f}" if v else "NaN" for v in vals) + "\n")
    width = max(900, 110 * len(chart_rows) + 200)
    title = f"median seconds, log scale ({meta.get('date', '')}{', ' + meta['label'] if meta.get('label') else ''})"
    script = f"""
set terminal pngcairo size {width},600 noenhanced font ",10"
set output "{png}"
set title "{title}"
set datafile missing "NaN"
set key autotitle columnhead top left
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set ylabel "seconds"
set grid ytics
set xtics rotate by -25 scale 0
plot "{data}" using 2:xtic(1) lc rgb "#d62728", "" using 3 lc rgb "#1f77b4", "" using 4 lc rgb "#2ca02c", "" using 5 lc rgb "#7f7f7f"
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    finally:
        os.unlink(data)


if __name__ == "__main__":
    main(sys.argv)
