#!/usr/bin/env python3
"""Helpers for bench/run and the scenario scripts (standard library only).

    bench.py machine                      machine description, JSON
    bench.py versions EDDY_BIN            versions of eddy and what it links, JSON
    bench.py stats STATS.json             eddy --stats as shell assignments (ST_*)
    bench.py get FILE KEY                 KEY of the JSON object in FILE (dotted path)
    bench.py median X...                  median of numbers ("" and "null" ignored)
    bench.py emit KEY=VALUE...            append one result object to $BENCH_JSONL
    bench.py meta MODE STARTED REPS MACHINE.json VERSIONS.json RAN FAILED
                                          the run's description, JSON (RAN and
                                          FAILED: space-separated scenario names)
    bench.py report OUTDIR JSONL META.json [PREVIOUS.json]
                                          write OUTDIR/latest.json and latest.md,
                                          keeping the rows of scenarios not run
                                          from PREVIOUS (default OUTDIR/latest.json)

emit: values are typed: integers and decimals become numbers, true/false/null
booleans and null, anything else a string; KEY:=VALUE forces a string.
"""
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

RESULT_FIELDS = ["scenario", "variant", "eddy_eps", "baseline", "baseline_eps", "ratio",
                 "p50_ms", "p99_ms", "p999_ms", "rss_mb", "bytes_per_key",
                 "cpu_s_per_mevents", "goal", "goal_met", "notes"]


def _run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _dpkg(pkg):
    return _run(["dpkg-query", "-W", "-f=${Version}", pkg]) or None


def cmd_machine(_args):
    model = None
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model is None:
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags") and not flags:
                    flags = line.split(":", 1)[1]
    except OSError:
        pass
    mem_kb = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_kb = int(line.split()[1])
    except OSError:
        pass
    try:
        load = list(os.getloadavg())
    except OSError:
        load = None
    virt = "hypervisor" in flags.split()
    out = {
        "hostname": platform.node(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "virtualized": virt,
        "avx2": "avx2" in flags.split(),
        "avx512f": "avx512f" in flags.split(),
        "mem_gib": round(mem_kb / 1048576, 1) if mem_kb else None,
        "kernel": platform.release(),
        "os": _run(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]) or None,
        "loadavg_start": load,
    }
    json.dump(out, sys.stdout)
    print()


def cmd_versions(args):
    eddy = args[0] if args else "bin/eddy"
    gcc = _run(["gcc", "-dumpfullversion"]) or _run(["gcc", "--version"]).split("\n")[0]
    out = {
        "eddy": _run([eddy, "--version"]) or None,
        "git": _run(["git", "-C", os.path.dirname(os.path.abspath(__file__)), "describe",
                     "--always", "--dirty"]) or None,
        "gcc": gcc or None,
        "g++": _run(["g++", "-dumpfullversion"]) or None,
        "librdkafka": _dpkg("librdkafka1"),
        "libzmq": _dpkg("libzmq5"),
        "libxxhash": _dpkg("libxxhash0"),
        "libjsmn": _dpkg("libjsmn-dev"),
        "libsimdjson": _dpkg("libsimdjson-dev"),
        "mariadb": _dpkg("mariadb-server"),
        "postgresql": _dpkg("postgresql-15"),
        "gnuplot": (_run(["gnuplot", "--version"]) or None),
        "python": platform.python_version(),
    }
    json.dump(out, sys.stdout)
    print()


def cmd_meta(args):
    mode, started, reps, mpath, vpath, ran, failed = args
    with open(mpath) as f:
        machine = json.load(f)
    with open(vpath) as f:
        versions = json.load(f)
    json.dump({"mode": mode, "started": started, "repetitions": int(reps),
               "scenarios_run": ran.split(), "scenarios_failed": failed.split(),
               "machine": machine, "versions": versions}, sys.stdout)
    print()


def cmd_stats(args):
    """Shell assignments from an eddy --stats file. Sums over sources and sinks."""
    with open(args[0]) as f:
        d = json.load(f)
    srcs = d.get("sources", {}).values()
    sinks = d.get("sinks", {}).values()
    agg = d.get("aggregators", {})
    lat = d.get("latency_ms") or {}
    vals = {
        "ST_WALL_MS": d.get("wall_ms", 0),
        "ST_ACTIVE_MS": d.get("active_ms", 0),
        "ST_CHECKPOINTS": d.get("checkpoints", 0),
        "ST_INPUTS": sum(s.get("inputs", 0) for s in srcs),
        "ST_RECORDS": sum(s.get("records", 0) for s in srcs),
        "ST_REJECTED": sum(s.get("rejected", 0) for s in srcs),
        "ST_AGG_RECORDS": agg.get("records", 0),
        "ST_KEYS": agg.get("keys", 0),
        "ST_STATE_BYTES": agg.get("state_bytes", 0),
        "ST_ROWS_WRITTEN": sum(s.get("rows_written", 0) for s in sinks),
        "ST_RECONNECTS": sum(s.get("reconnects", 0) for s in sinks),
        "ST_P50_MS": lat.get("p50", ""),
        "ST_P99_MS": lat.get("p99", ""),
        "ST_P999_MS": lat.get("p999", ""),
    }
    for k, v in vals.items():
        print("%s=%s" % (k, v))


def cmd_get(args):
    with open(args[0]) as f:
        text = f.read().strip()
    # Baselines print one object; tolerate extra lines before it.
    d = json.loads(text.splitlines()[-1])
    for part in args[1].split("."):
        d = d.get(part) if isinstance(d, dict) else None
    print("" if d is None else d)


def _nums(args):
    out = []
    for a in args:
        if a in ("", "null", "None"):
            continue
        out.append(float(a))
    return out


def cmd_median(args):
    xs = _nums(args)
    print(repr(statistics.median(xs)) if xs else "")


def _typed(v):
    if v in ("true", "false"):
        return v == "true"
    if v in ("null", ""):
        return None
    if re.fullmatch(r"-?\d+", v):
        return int(v)
    if re.fullmatch(r"-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?", v):
        x = float(v)
        return round(x, 6) if abs(x) < 1e6 else round(x, 1)
    return v


def cmd_emit(args):
    path = os.environ.get("BENCH_JSONL")
    if not path:
        sys.exit("bench.py emit: BENCH_JSONL is not set (run scenarios through bench/run)")
    obj = {}
    for a in args:
        m = re.match(r"([A-Za-z0-9_]+)(:?=)(.*)\Z", a, re.S)
        if not m:
            sys.exit("bench.py emit: expected KEY=VALUE, got %r" % a)
        k, op, v = m.groups()
        obj[k] = v if op == ":=" else _typed(v)
    for k in ("scenario", "variant"):
        if k not in obj:
            sys.exit("bench.py emit: %s is required" % k)
    for k in ("eddy_eps", "baseline", "baseline_eps", "ratio"):
        obj.setdefault(k, None)
    with open(path, "a") as f:
        f.write(json.dumps(obj) + "\n")


# ---------------------------------------------------------------- report ----

def _eps(x):
    if x is None:
        return "—"
    if x >= 1e6:
        return "%.2f M/s" % (x / 1e6)
    if x >= 1e3:
        return "%.1f k/s" % (x / 1e3)
    return "%.0f/s" % x


def _num(x, fmt="%.2f"):
    return "—" if x is None else fmt % x


def _ratio(x):
    return "—" if x is None else "%.2f×" % x


def _met(x):
    return {True: "yes", False: "**no**", None: "—"}[x]


def _cell(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def _merge_earlier(doc, results, path):
    """A run of some scenarios keeps the other scenarios' rows of the previous
    latest.json of the same mode (each marked with the run it came from, listed
    in doc["earlier_runs"] with that run's machine load), so latest.md always
    holds every scenario's latest figures."""
    try:
        with open(path) as f:
            old = json.load(f)
    except (OSError, ValueError):
        return
    if old.get("mode") != doc.get("mode"):
        return
    ran = {n.split("_")[0].upper() for n in doc.get("scenarios_run", [])}
    runs = {r.get("started"): r for r in old.get("earlier_runs", [])}
    kept = []
    for r in old.get("results", []):
        if str(r.get("scenario", "")).upper() in ran:
            continue
        if not r.get("from_run"):
            r["from_run"] = old.get("started")
            if old.get("started") not in runs:
                m = old.get("machine", {})
                runs[old.get("started")] = {
                    "started": old.get("started"), "git": old.get("versions", {}).get("git"),
                    "loadavg_start": m.get("loadavg_start"), "loadavg_end": m.get("loadavg_end")}
        kept.append(r)
    used = {r["from_run"] for r in kept}
    doc["earlier_runs"] = [v for k, v in runs.items() if k in used]
    results[:0] = kept
    results.sort(key=lambda r: scenario_order(r.get("scenario")))  # stable: each scenario's order kept


def scenario_order(name):
    """Sort key putting S2 before S11 (by number, then by name)."""
    digits = "".join(c for c in str(name) if c.isdigit())
    return (int(digits) if digits else 1 << 30, str(name))


def cmd_report(args):
    outdir, jsonl, meta_path = args[0], args[1], args[2]
    previous = args[3] if len(args) > 3 else os.path.join(outdir, "latest.json")
    with open(meta_path) as f:
        meta = json.load(f)
    results = []
    if os.path.exists(jsonl):
        with open(jsonl) as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    obj = json.loads(line)
                except ValueError as e:
                    print("bench.py report: %s:%d: not JSON (%s); skipped" % (jsonl, n, e),
                          file=sys.stderr)
                    continue
                results.append(obj)
    doc = dict(meta)
    doc["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    try:
        doc["machine"]["loadavg_end"] = list(os.getloadavg())
    except (OSError, KeyError, TypeError):
        pass
    _merge_earlier(doc, results, previous)
    doc["results"] = results
    with open(os.path.join(outdir, "latest.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")

    m, v = doc.get("machine", {}), doc.get("versions", {})
    L = []
    L.append("# eddy benchmark results (%s)" % doc.get("mode", "?"))
    L.append("")
    L.append("Every ratio is eddy ÷ baseline **measured in the same run** (interleaved, "
             "median of %s repetition(s)); bare events/s are shown for context only — "
             "they depend on the machine and on what else ran on it. "
             "See [bench/README.md](%s) for how to read this." %
             (doc.get("repetitions", "?"),
              "../README.md" if doc.get("mode") == "full" else "../../README.md"))
    L.append("")
    L.append("- **started** %s, finished %s" % (doc.get("started"), doc.get("finished")))
    L.append("- **machine** %s cores (%s usable), %s%s, %s GiB RAM, kernel %s, %s; "
             "load average at start %s, at end %s" % (
                 m.get("cores"), m.get("cores_usable"), m.get("cpu_model"),
                 " (virtual machine)" if m.get("virtualized") else "", m.get("mem_gib"),
                 m.get("kernel"), m.get("os"),
                 " / ".join("%.2f" % x for x in (m.get("loadavg_start") or [])),
                 " / ".join("%.2f" % x for x in (m.get("loadavg_end") or []))))
    L.append("- **versions** " + ", ".join(
        str(val) if str(val).startswith(k + " ") else "%s %s" % (k, val)
        for k, val in v.items() if val))
    for e in doc.get("earlier_runs", []):
        sc = sorted({str(r.get("scenario")) for r in results if r.get("from_run") == e["started"]},
                    key=scenario_order)
        L.append("- **kept from the run started %s** (git %s; load average at start %s, at end "
                 "%s): %s" % (e["started"], e.get("git"),
                              " / ".join("%.2f" % x for x in (e.get("loadavg_start") or [])),
                              " / ".join("%.2f" % x for x in (e.get("loadavg_end") or [])),
                              ", ".join(sc)))
    if doc.get("scenarios_failed"):
        L.append("- **harness failures**: %s (see the run's log)" %
                 ", ".join(doc["scenarios_failed"]))
    L.append("")
    opt = [("p50_ms", "p50 ms", "%.1f"), ("p99_ms", "p99 ms", "%.1f"),
           ("p999_ms", "p99.9 ms", "%.1f"), ("rss_mb", "RSS MB", "%.0f"),
           ("bytes_per_key", "B/key", "%.1f"), ("cpu_s_per_mevents", "CPU s/M ev", "%.3f"),
           ("eddy_eps_per_core", "eddy per core", _eps)]
    opt = [o for o in opt if any(r.get(o[0]) is not None for r in results)]
    head = ["scenario", "variant", "eddy", "baseline", "baseline ev/s", "ratio", "goal", "met?"]
    head += [o[1] for o in opt]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "|".join(["---"] * 2 + ["---:"] * 2 + ["---:"] * 2 + ["---"] * 2 +
                            ["---:"] * len(opt)) + "|")
    notes = []
    for r in results:
        eddy = _eps(r.get("eddy_eps"))
        if r.get("eddy_eps") is None and r.get("eddy_status"):
            eddy = r["eddy_status"]  # e.g. "pending": eddy cannot run this yet
        row = [r.get("scenario"), r.get("variant"), eddy,
               r.get("baseline") or "—", _eps(r.get("baseline_eps")), _ratio(r.get("ratio")),
               r.get("goal") or "—", _met(r.get("goal_met"))]
        row += [fmt(r.get(k)) if callable(fmt) else _num(r.get(k), fmt) for k, _, fmt in opt]
        L.append("| " + " | ".join(_cell(c) for c in row) + " |")
        if r.get("notes"):
            notes.append("- **%s / %s**: %s" % (r.get("scenario"), r.get("variant"), r["notes"]))
    if not results:
        L.append("| (no results) |" + " |" * (len(head) - 1))
    if notes:
        L.append("")
        L.append("## Notes")
        L.append("")
        L.extend(notes)
    charts = [c for c in ("s1_scaling.png", "s4_latency.png", "s6_rss.png", "s7_rss.png")
              if os.path.exists(os.path.join(outdir, c))]
    if charts:
        L.append("")
        L.append("## Charts")
        L.append("")
        for c in charts:
            L.append("![%s](%s)" % (c[:-4], c))
            L.append("")
    with open(os.path.join(outdir, "latest.md"), "w") as f:
        f.write("\n".join(L).rstrip() + "\n")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = globals().get("cmd_" + cmd)
    if not fn:
        sys.exit("bench.py: unknown command %r\n%s" % (cmd, __doc__))
    fn(args)


if __name__ == "__main__":
    main()
