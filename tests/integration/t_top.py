#!/usr/bin/env python3
"""eddy top as a person uses it: sorted sets filled with redis-cli, `eddy top`
running in a tmux pane, keys sent with send-keys, the screen read back with
capture-pane and checked against what redis-cli says (the independent
oracle): ranks, members and scores, rank movement and rates after scores
change, a pattern following a newer window key, tab/zoom, +/- rows, pause,
the status line while Redis is stopped and the recovery after it restarts,
q; and `--once` parsed and compared. Prints TAP lines for tests/run.

Waits are bounded polls of capture-pane (or of Redis) for an expected state,
never sleeps for correctness. Environment: EDDY_ROOT, EDDY_REDIS_PORT,
EDDY (the binary, default bin/eddy), TOP_LABEL (a prefix for test names)."""
import os
import re
import shlex
import subprocess
import sys
import time
import unicodedata

ROOT = os.environ["EDDY_ROOT"]
EDDY = os.environ.get("EDDY", os.path.join(ROOT, "bin/eddy"))
LABEL = os.environ.get("TOP_LABEL", "")
PORT = os.environ.get("EDDY_REDIS_PORT", "26379")
DB = "3"
URL = f"redis://127.0.0.1:{PORT}/{DB}"
OUT = os.path.join(ROOT, "tests/out/top")
P = f"t_top{os.getpid()}:"
SOCK = f"eddy-top-test-{os.getpid()}"  # a private tmux server, killed at the end
W, H = 200, 40
failed = 0
count = 0


def tap(ok, name, *diag):
    global failed, count
    count += 1
    print(("ok - " if ok else "not ok - ") + LABEL + name)
    if not ok:
        failed += 1
        for d in diag:
            for line in str(d).splitlines()[-40:]:
                print("# " + line)
    sys.stdout.flush()
    return ok


def redis(*args, stdin=None):
    r = subprocess.run(["redis-cli", "-p", PORT, "-n", DB, "--raw", *args], input=stdin,
                       capture_output=True, text=True)
    return r.stdout


def zrevrange(key, n):
    out = redis("ZREVRANGE", key, "0", str(n - 1), "WITHSCORES").split("\n")
    out = [x for x in out if x != ""] if out != [""] else []
    return [(i // 2 + 1, out[i], out[i + 1]) for i in range(0, len(out) - 1, 2)]


def multi(*cmds):
    """Runs the commands in one MULTI/EXEC: eddy top sees all or none."""
    text = "MULTI\n" + "".join(" ".join(shlex.quote(a) for a in c) + "\n" for c in cmds) + "EXEC\n"
    redis(stdin=text)


def tmux(*args):
    return subprocess.run(["tmux", "-L", SOCK, *args], capture_output=True, text=True)


def screen():
    return tmux("capture-pane", "-p", "-t", "top").stdout.split("\n")


def poll(pred, timeout=20.0):
    """Polls capture-pane until pred(lines) is true; returns (ok, lines)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = screen()
        try:
            if pred(lines):
                return True, lines
        except (IndexError, ValueError, KeyError):
            pass
        if time.monotonic() > deadline:
            return False, lines
        time.sleep(0.1)


def cells(s):
    """The line as terminal cells: a wide character takes two (the second '')."""
    out = []
    for ch in s:
        if unicodedata.combining(ch):
            if out:
                out[-1] += ch
            continue
        out.append(ch)
        if unicodedata.east_asian_width(ch) in ("W", "F"):
            out.append("")
    return out


def panels(lines):
    """The boards on screen: [{title, info, rows: [(rank, member, score, rate, move)]}]."""
    body = [cells(l) for l in lines[2:H - 1]]
    # separators: columns holding '│' on every body line
    width = max(len(c) for c in body)
    seps = [x for x in range(width) if all(x < len(c) and c[x] == "│" for c in body)]
    bounds, start = [], 0
    for x in seps + [width + 1]:
        bounds.append((start, x))
        start = x + 1
    result = []
    for a, b in bounds:
        part = ["".join(c[a:b]) for c in body]
        hdr = cells(part[2])
        text = "".join(hdr)
        m0 = text.index("member")
        s_end = text.index("score") + 5
        r_end = text.index("Δ/s") + 3
        mv = text.index("move")
        m0, s_end, r_end, mv = (len(cells(text[:i])) for i in (m0, s_end, r_end, mv))
        rows = []
        for line in part[3:]:
            c = cells(line) + [" "] * (b - a)
            rank = "".join(c[:m0]).strip()
            if not rank.isdigit():
                continue
            member, score = "".join(c[m0:s_end]).rstrip().rsplit(" ", 1)
            rows.append((int(rank), member.rstrip(), score, "".join(c[s_end:r_end]).strip(),
                         "".join(c[mv:]).strip()))
        result.append({"title": part[0].strip(), "info": part[1].strip(), "rows": rows,
                       "header": part[2], "lines": part})
    return result


def show(lines):
    return "screen:\n" + "\n".join(lines)


def parse_rate(s):
    m = re.fullmatch(r"([+-][0-9.e+-]+)([kMGT]?)", s)
    return float(m.group(1)) * {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[m.group(2)]


def dt_shown(lines):
    return float(re.search(r"Δt ([0-9.]+)s", lines[0]).group(1))


def start_top(args, name="top"):
    # The exit status is written aside, then renamed: quit_top polls for the
    # file, and one caught between its creation and the write reads empty.
    rc = f"{OUT}/{name}.rc"
    cmd = (f"env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=tmux-256color {shlex.quote(EDDY)} top "
           f"{args} 2>{OUT}/{name}.stderr; echo $? > {rc}.tmp; mv {rc}.tmp {rc}")
    for f in (f"{OUT}/{name}.rc",):
        if os.path.exists(f):
            os.remove(f)
    r = tmux("new-session", "-d", "-s", "top", "-x", str(W), "-y", str(H), cmd)
    return r.returncode == 0


def quit_top(name="top"):
    tmux("send-keys", "-t", "top", "q")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not os.path.exists(f"{OUT}/{name}.rc"):
        time.sleep(0.1)
    try:
        rc = open(f"{OUT}/{name}.rc").read().strip()
    except OSError:
        rc = "(still running)"
    err = open(f"{OUT}/{name}.stderr").read() if os.path.exists(f"{OUT}/{name}.stderr") else ""
    tmux("kill-session", "-t", "top")
    return rc, err


def services(*args):
    return subprocess.run([os.path.join(ROOT, "scripts/services"), *args], capture_output=True,
                          text=True)


# ------------------------------------------------------------------ data ----
WORDS = P + "words"
WIN = P + "win:"
OLD, NEW, NEWER = WIN + "1733097600000", WIN + "1733097660000", WIN + "1733097720000"
SMALL = P + "small"


def fill():
    for k in redis("--scan", "--pattern", P + "*").split():
        redis("DEL", k)
    members = []
    for i in range(30):
        members += [str((i * 37) % 101 + (0.5 if i % 7 == 0 else 0)), f"w{i:02d}"]
    members += ["95.25", "café", "93", "日本"]
    redis("ZADD", WORDS, *members)
    redis("ZADD", OLD, "9", "old-a", "8", "old-b")
    redis("ZADD", NEW, "3", "p1", "7", "p2", "5", "p3")
    redis("EXPIRE", NEW, "3600")
    redis("ZADD", SMALL, "1", "x", "2", "y", "3", "z")


def main():
    os.makedirs(OUT, exist_ok=True)
    if not tap(subprocess.run(["redis-cli", "-p", PORT, "ping"], capture_output=True,
                              text=True).stdout.strip() == "PONG", "redis answers"):
        return
    fill()
    once_tests()
    try:
        screen_tests()
    finally:
        tmux("kill-server")
        if subprocess.run(["redis-cli", "-p", PORT, "ping"], capture_output=True,
                          text=True).stdout.strip() != "PONG":
            services("start", "redis")
        for k in redis("--scan", "--pattern", P + "*").split():
            redis("DEL", k)


def parse_once(text):
    boards, cur = [], None
    for line in text.split("\n"):
        if line.startswith("# "):
            f = line[2:].split("\t")
            cur = {"key": f[0], **dict(x.split("=", 1) for x in f[1:]), "rows": []}
            boards.append(cur)
        elif line:
            r, s, m = line.split("\t")
            cur["rows"].append((int(r), m, s))
    return boards


def once_tests():
    r = subprocess.run([EDDY, "top", "-r", URL, "--once", "--rows", "10", WORDS, WIN + "*",
                        SMALL, P + "nothing"], capture_output=True, text=True)
    tap(r.returncode == 0, "--once exits 0", r.stderr)
    b = parse_once(r.stdout)
    tap(len(b) == 4, "--once: one block per set", r.stdout)
    if len(b) != 4:
        return
    tap(b[0]["key"] == WORDS and b[0]["rows"] == zrevrange(WORDS, 10),
        "--once: ranks, members, scores = redis-cli ZREVRANGE", r.stdout, zrevrange(WORDS, 10))
    tap(b[0]["members"] == redis("ZCARD", WORDS).strip() and b[0]["ttl"] == "none",
        "--once: members = ZCARD, no TTL", r.stdout)
    ttl_after = int(redis("TTL", NEW))
    tap(b[1]["key"] == NEW and b[1]["pattern"] == WIN + "*" and b[1]["rows"] == zrevrange(NEW, 10),
        "--once: the pattern reads the newest window key", r.stdout)
    t = int(b[1]["ttl"].rstrip("s"))
    tap(ttl_after - 1 <= t <= 3600, "--once: TTL between redis-cli TTL after and the EXPIRE",
        f"{t} vs {ttl_after}")
    tap(b[2]["rows"] == zrevrange(SMALL, 10), "--once: a set smaller than --rows", r.stdout)
    tap(b[3]["members"] == "0" and b[3]["ttl"] == "missing" and not b[3]["rows"],
        "--once: a key that does not exist", r.stdout)
    # stdout not a terminal: behaves as --once
    r2 = subprocess.run([EDDY, "top", "-r", URL, "--rows", "10", WORDS], capture_output=True,
                        text=True, stdin=subprocess.DEVNULL)
    b2 = parse_once(r2.stdout)
    tap(r2.returncode == 0 and len(b2) == 1 and b2[0]["rows"] == zrevrange(WORDS, 10),
        "no terminal: one snapshot, as --once", r2.stdout, r2.stderr)
    # EDDY_REDIS_URL is the default server
    r3 = subprocess.run([EDDY, "top", "--once", "--rows", "3", SMALL], capture_output=True,
                        text=True, env={**os.environ, "EDDY_REDIS_URL": URL})
    tap(parse_once(r3.stdout)[0]["rows"] == zrevrange(SMALL, 3), "EDDY_REDIS_URL is the default",
        r3.stdout, r3.stderr)
    # a member with a tab, a newline, a backslash and bytes that are not UTF-8
    redis("ZADD", P + "odd", "1", "a\tb\nc\\d")
    subprocess.run(["sh", "-c", f"printf '\\377x' | redis-cli -p {PORT} -n {DB} -x ZADD {P}odd 2"],
                   capture_output=True)
    r4 = subprocess.run([EDDY, "top", "-r", URL, "--once", P + "odd"], capture_output=True,
                        text=True)
    tap(r4.stdout.split("\n")[1:3] == ["1\t2\t\\xffx", "2\t1\ta\\tb\\nc\\\\d"],
        "--once: members escaped so that a row stays one line", repr(r4.stdout))
    # a key of another type
    redis("SET", P + "str", "v")
    r5 = subprocess.run([EDDY, "top", "-r", URL, "--once", P + "str"], capture_output=True,
                        text=True)
    tap(r5.returncode == 1 and "error=WRONGTYPE" in r5.stdout, "--once: WRONGTYPE, exit 1",
        r5.stdout, r5.returncode)
    # unreachable Redis: a clear error, exit 69
    r6 = subprocess.run([EDDY, "top", "-r", "redis://127.0.0.1:1", "--once", WORDS],
                        capture_output=True, text=True)
    tap(r6.returncode == 69 and "redis 127.0.0.1:1/0" in r6.stderr and
        "cannot connect" in r6.stderr and r6.stdout == "",
        "--once, Redis unreachable: names the server, exit 69", r6.stderr, r6.returncode)
    # bad arguments: one line, an example, exit 64
    for args, what in ((["--rows", "0", "k"], "--rows"), (["--interval", "soon", "k"], "--interval"),
                       ([], "KEY or PATTERN"), (["-r", "http://x", "k"], "redis://host:port"),
                       (["--frobnicate", "k"], "unknown option"), (["--rows"], "needs a value")):
        r7 = subprocess.run([EDDY, "top", *args], capture_output=True, text=True)
        lines = r7.stderr.strip().split("\n")
        tap(r7.returncode == 64 and len(lines) == 2 and what in lines[0] and
            lines[1].startswith("example: eddy top "), f"bad arguments {args}: exit 64, says "
            f"what and shows an example", r7.stderr, r7.returncode)


def rows_of(p, n=None):
    return [(r, m, s) for (r, m, s, _, _) in p["rows"]][:n]


def screen_tests():
    ok = start_top(f"-r {URL} --interval 1h --rows 10 {WORDS} '{WIN}*' {SMALL}")
    tap(ok, "eddy top starts in a tmux pane")
    ok, lines = poll(lambda l: "updated" in l[0] and len(panels(l)) == 3 and
                     rows_of(panels(l)[0]) == zrevrange(WORDS, 10))
    tap(ok, "screen: ranks, members and scores = redis-cli ZREVRANGE", show(lines),
        zrevrange(WORDS, 10))
    if not ok:
        return
    ps = panels(lines)
    tap(ps[0]["title"] == WORDS and ps[0]["info"].startswith(redis("ZCARD", WORDS).strip() +
                                                              " members") and "ttl none" in
        ps[0]["info"], "screen: the key, ZCARD and TTL of each set", show(lines))
    tap(ps[1]["title"] == NEW and rows_of(ps[1]) == zrevrange(NEW, 10) and "ttl 59m" in
        ps[1]["info"], "screen: a pattern shows the newest window key", show(lines))
    tap(rows_of(ps[2]) == zrevrange(SMALL, 10), "screen: three sets side by side", show(lines))
    # wide characters keep the columns aligned: every score ends under "score"
    hdr = cells(ps[0]["header"])
    s_end = len(cells("".join(hdr)[:"".join(hdr).index("score") + 5]))
    aligned = all(len(cells(l.rstrip())) >= s_end and cells(l)[s_end - 1] != " "
                  for l in ps[0]["lines"][3:13])
    tap(aligned and any("日本" in m for (_, m, _, _, _) in ps[0]["rows"]),
        "screen: wide characters keep the columns aligned", show(lines))

    # rank movement and rates: one atomic change, then r
    before = {m: (r, float(s)) for (r, m, s) in zrevrange(WORDS, 10)}
    low = zrevrange(WORDS, 10)[7][1]  # rank 8 → 1
    multi(["ZINCRBY", WORDS, "500", low], ["ZADD", WORDS, "99.5", P + "fresh"],
          ["ZINCRBY", WORDS, "-0.25", zrevrange(WORDS, 10)[1][1]])
    want = zrevrange(WORDS, 10)
    tmux("send-keys", "-t", "top", "r")
    ok, lines = poll(lambda l: rows_of(panels(l)[0]) == want)
    tap(ok, "after r: the screen shows the new ranks and scores", show(lines), want)
    if ok:
        dt = dt_shown(lines)
        bad = []
        for (r, m, s, rate, move) in panels(lines)[0]["rows"]:
            if m not in before:
                exp_move, exp_rate = "new", None
            else:
                r0, s0 = before[m]
                exp_move = "" if r0 == r else (f"↑{r0 - r}" if r0 > r else f"↓{r - r0}")
                exp_rate = (float(s) - s0) / dt
            if move != exp_move:
                bad.append(f"{m}: move {move!r}, expected {exp_move!r}")
            if exp_rate is None or exp_rate == 0:
                if rate != "":
                    bad.append(f"{m}: rate {rate!r}, expected blank")
            else:
                got = parse_rate(rate)
                # Δt is shown rounded to 10 ms and the rate to 3 digits
                tol = abs(exp_rate) * (0.006 + 0.006 / dt)
                if abs(got - exp_rate) > tol:
                    bad.append(f"{m}: rate {got}, expected {exp_rate:.4g} (Δt {dt})")
        tap(not bad, "after r: movement (↑n ↓n new) and change per second match redis-cli",
            *bad, show(lines))

    # pattern following: a newer window appears, then goes away
    redis("ZADD", NEWER, "42", "q1", "41", "q2")
    tmux("send-keys", "-t", "top", "r")
    ok, lines = poll(lambda l: panels(l)[1]["title"] == NEWER and
                     rows_of(panels(l)[1]) == zrevrange(NEWER, 10))
    tap(ok, "pattern: follows a newer window key", show(lines))
    redis("DEL", NEWER)
    tmux("send-keys", "-t", "top", "r")
    ok, lines = poll(lambda l: panels(l)[1]["title"] == NEW)
    tap(ok, "pattern: back to the newest remaining key when that one is deleted", show(lines))

    # tab and zoom: z shows the focused set alone
    tmux("send-keys", "-t", "top", "Tab", "z")
    ok, lines = poll(lambda l: len(panels(l)) == 1 and panels(l)[0]["title"] == NEW and
                     "set 2 of 3" in l[0])
    tap(ok, "tab then z: the second set alone", show(lines))
    tmux("send-keys", "-t", "top", "BTab")
    ok, lines = poll(lambda l: len(panels(l)) == 1 and panels(l)[0]["title"] == WORDS)
    tap(ok, "shift-tab: back to the first set", show(lines))
    tmux("send-keys", "-t", "top", "Right", "Right", "z")
    ok, lines = poll(lambda l: len(panels(l)) == 3)
    tap(ok, "arrows and z again: side by side", show(lines))

    # + and -: more and fewer rows
    tmux("send-keys", "-t", "top", "+")
    ok, lines = poll(lambda l: "15 rows" in l[0] and rows_of(panels(l)[0]) == zrevrange(WORDS, 15))
    tap(ok, "+: 15 rows, = redis-cli", show(lines))
    if ok:
        new_rows = [mv for (r, _, _, _, mv) in panels(lines)[0]["rows"] if r > 10]
        tap(new_rows == [""] * 5, "+: rows not read before show no movement", show(lines))
    tmux("send-keys", "-t", "top", "-", "-")
    ok, lines = poll(lambda l: "9 rows" in l[0] and rows_of(panels(l)[0]) == zrevrange(WORDS, 9))
    tap(ok, "- twice: 9 rows", show(lines))

    # Redis stopped: the status line says so, the last good view stays
    last = rows_of(panels(lines)[0])
    r = services("stop", "redis")
    tap(r.returncode == 0, "scripts/services stop redis", r.stderr)
    tmux("send-keys", "-t", "top", "r")
    ok, lines = poll(lambda l: f"redis 127.0.0.1:{PORT}/{DB}" in l[H - 1] and "retry" in
                     l[H - 1] and "showing data from" in l[H - 1])
    tap(ok, "Redis down: the status line names the server and the retry", show(lines))
    tap(ok and rows_of(panels(lines)[0]) == last, "Redis down: the last good view stays",
        show(lines))
    ok, lines = poll(lambda l: re.search(r"retry [3-9]", l[H - 1]))
    tap(ok, "Redis down: it keeps retrying (backoff), no crash", show(lines))
    r = services("start", "redis")
    tap(r.returncode == 0, "scripts/services start redis", r.stderr)
    fill()  # the server keeps nothing across a restart
    redis("ZINCRBY", WORDS, "1000", "w03")
    ok, lines = poll(lambda l: l[H - 1].startswith("q quit"))
    tap(ok, "Redis back: reconnects by itself, the status line clears", show(lines))
    tmux("send-keys", "-t", "top", "r")
    ok, lines = poll(lambda l: rows_of(panels(l)[0]) == zrevrange(WORDS, 9))
    tap(ok, "Redis back: the screen shows the new data", show(lines))

    rc, err = quit_top()
    tap(rc == "0", "q: exits 0", f"exit status: {rc!r}", err)
    tap(not re.search(r"AddressSanitizer|LeakSanitizer|runtime error", err),
        "no sanitizer report", err)

    # automatic refresh and pause (p)
    ok = start_top(f"-r {URL} --interval 200ms --rows 5 {SMALL}", "auto")
    redis("ZINCRBY", SMALL, "10", "x")
    ok, lines = poll(lambda l: rows_of(panels(l)[0]) == zrevrange(SMALL, 5))
    tap(ok, "--interval 200ms: refreshes without a key", show(lines))
    tmux("send-keys", "-t", "top", "p")
    ok, lines = poll(lambda l: "PAUSED" in l[0])
    tap(ok, "p: the header says PAUSED", show(lines))
    paused_rows = rows_of(panels(lines)[0])

    def client_idle():
        for line in redis("CLIENT", "LIST").split("\n"):
            if "name=eddy-top" in line and f"db={DB}" in line:
                return int(re.search(r"idle=(\d+)", line).group(1))
        return -1
    redis("ZINCRBY", SMALL, "10", "y")
    deadline = time.monotonic() + 20
    while client_idle() < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = screen()
    tap(client_idle() >= 2 and rows_of(panels(lines)[0]) == paused_rows,
        "paused: no reads for 2 s (CLIENT LIST idle), the screen unchanged", show(lines))
    tmux("send-keys", "-t", "top", "p")
    ok, lines = poll(lambda l: "PAUSED" not in l[0] and rows_of(panels(l)[0]) ==
                     zrevrange(SMALL, 5))
    tap(ok, "p again: resumes and shows the change", show(lines))
    rc, err = quit_top("auto")
    tap(rc == "0" and not re.search(r"AddressSanitizer|LeakSanitizer|runtime error", err),
        "q: exits 0, no sanitizer report", rc, err)


if __name__ == "__main__":
    try:
        main()
    finally:
        print(f"1..{count}")
    sys.exit(1 if failed else 0)
