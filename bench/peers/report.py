"""report: bench/peers' results as a markdown table (bench/results/peers-<date>.md and
peers-latest.md), the raw runs as JSON, and a chart (peers-latest.png, matplotlib).
Medians of the runs; a cell with failed runs says so instead of hiding them.
"""
import idle  # noqa: E402 - bench/peers/idle.py
import system_install  # noqa: E402
import json
import os
import statistics

import pop3

PEERS = ("Postfix", "OpenSMTPD")


def rates(runs, n, field):
    return [r.get("n", n) / r[field] for r in runs if r.get(field)]


def median_rate(runs, n, field):
    v = rates(runs, n, field)
    return statistics.median(v) if v else None


def cell(runs, n, field):
    """'483 ±4%' (median msg/s and the largest deviation of a run from it), or why not."""
    if runs is None:
        return "—"
    v = rates(runs, n, field)
    bad = [r["error"] for r in runs if r.get("error")]
    if not v:
        return "failed: %s" % (bad[0][:60] if bad else "?")
    med = statistics.median(v)
    spread = max(abs(x - med) for x in v) / med * 100 if len(v) > 1 else 0
    text = "%.0f" % med + (" ±%.0f%%" % spread if len(v) > 1 else "")
    capped = [r for r in runs if r.get("capped")]
    if capped:
        text += " † (%d–%d msgs)" % (min(r["n"] for r in capped), max(r["n"] for r in capped))
    if bad:
        text += " (%d of %d runs failed)" % (len(bad), len(runs))
    return text


def ratio(a, b):
    return "%.2f" % (a / b) if a and b else "—"


def throughput_rows(res):
    """(label, {system: cell}, {peer: ratio}) for every scenario and metric."""
    n = res["messages"]
    rows = []
    for sc in res["scenarios"]:
        data = res["runs"][sc["key"]]
        metrics = [("accept", "accept_s"), ("end-to-end", "e2e_s")] if sc["kind"] == "local" \
            else [("relay end-to-end", "e2e_s")]
        for mname, field in metrics:
            label = "%s, %d session%s, %s" % (mname, sc["sessions"], "s" if sc["sessions"] > 1 else "",
                                               "many msgs/session" if sc["reuse"] else "1 msg/session")
            cells, meds = {}, {}
            for s in res["systems"]:
                if sc["kind"] == "relay" and res["relay"].get(s):
                    cells[s] = "n/a (%s)" % res["relay"][s]
                    continue
                if s == "smtp-sink" and field != "accept_s":
                    cells[s] = "—"
                    continue
                cells[s] = cell(data.get(s), n, field)
                meds[s] = median_rate(data.get(s) or [], n, field)
            rats = {p: ratio(meds.get("quail"), meds.get(p)) for p in PEERS if p in res["systems"]}
            rows.append((label, cells, rats, meds))
    return rows


def cpu_rows(res):
    out = []
    for sc in res["scenarios"]:
        data = res["runs"][sc["key"]]
        cells = {}
        for s in res["systems"]:
            runs = [r for r in (data.get(s) or []) if r.get("cpu_ms") is not None and r.get("e2e_s")]
            if s == "smtp-sink":
                runs = [r for r in (data.get(s) or []) if r.get("cpu_ms") is not None]
            if not runs:
                cells[s] = "—"
                continue
            cells[s] = "%.2f ms (CPU %.0f%%)" % (statistics.median(r["cpu_ms"] for r in runs),
                                                 100 * statistics.median(r["busy"] for r in runs))
        out.append(("%s, %d session%s, %s" % (sc["kind"], sc["sessions"], "s" if sc["sessions"] > 1 else "",
                                              "many msgs/session" if sc["reuse"] else "1 msg/session"), cells))
    return out


def markdown(res):
    sy = res["systems"]
    env = res["env"]
    L = ["# quail and its peers, side by side (`make bench-peers`)", "",
         "%s · commit %s · %s · %d CPUs (%s) · kernel %s · work dir on %s (%s) · load average %s before, "
         "%s after" % (res["date"], env["commit"], env["host"], env["cpus"], env["cpu"], env["kernel"],
                       env["fstype"], env["work"], env["load_before"], env["load_after"]),
         "",
         "Versions: quail %s; Postfix %s; OpenSMTPD %s. Client: Postfix's smtp-source, %d messages of "
         "4 KiB payload, 1 recipient, per run; medians of %d runs, interleaved (each scenario runs every "
         "system in turn, the order rotating between runs); ±: largest deviation of a run from the median. "
         "Loopback only. †: the client was stopped after %d s and the run counts the messages accepted by "
         "then. See bench/peers/README.md for what each row means." %
         (env["quail"], env["postfix"], env["opensmtpd"], res["messages"], res["runs_count"], res["cap"]), "",
         "Disk: **%.0f durable writes/s** (write 4 KiB + fsync + rename + directory fsync, one writer, in the "
         "work dir; runs: %s)." % (res["disk"]["median"], ", ".join("%.0f" % v for v in res["disk"]["values"])),
         "", "## Throughput, messages per second", "",
         "| scenario | " + " | ".join(sy) + " | " + " | ".join("quail/" + p for p in PEERS) + " |",
         "|---" * (1 + len(sy) + len(PEERS)) + "|"]
    for label, cells, rats, _ in throughput_rows(res):
        L.append("| %s | %s | %s |" % (label, " | ".join(cells[s] for s in sy), " | ".join(rats.get(p, "—") for p in PEERS)))
    L += ["", "## CPU per message", "",
          "CPU time of the system's own processes (all of them, children included) per message, median; "
          "in brackets the whole machine's busy share during the run (client included).", "",
          "| scenario | " + " | ".join(sy) + " |", "|---" * (1 + len(sy)) + "|"]
    for label, cells in cpu_rows(res):
        L.append("| %s | %s |" % (label, " | ".join(cells[s] for s in sy)))
    L += ["", "## Durability", "",
          "fsync-family calls (fsync, fdatasync, sync_file_range, syncfs, sync, msync) counted by strace "
          "attached to every process of the system. Between \".\" and 250: one session, one message at a "
          "time with %.1f s pauses; \"receiving side\" leaves out the system's delivery programs, whose "
          "work for the same message may already have begun." % res.get("before_gap", 0.5), "",
          "| system | fsyncs per message (%d msgs, 8 sessions) | which calls (by program: the 10-message trace) | fsyncs between \".\" and 250, "
          "receiving side (all) | made by | \".\" to 250, ms (traced) | DNS packets seen |" % res["fsync_messages"],
          "|---|---|---|---|---|---|---|"]
    for s in sy:
        if s == "smtp-sink":
            continue
        c, b = res["durability"].get(s, {}), res["before250"].get(s, {})
        calls = ", ".join("%s %d" % kv for kv in sorted(c.get("calls", {}).items())) or c.get("error", "—")
        if b.get("by_program"):
            calls += "; per msg by program: " + ", ".join("%s %.1f" % kv for kv in sorted(b["by_program"].items()))
        med, allmed = b.get("receiving_median"), b.get("median")
        flag = " **250 before any fsync**" if med == 0 else ""
        lat = b.get("latency_median_ms")
        L.append("| %s | %s | %s | %s%s | %s | %s | %s |" % (
            s, "%.2f" % c["per_msg"] if "per_msg" in c else "—", calls,
            "—" if med is None else "%g (%g)" % (med, allmed), flag, ", ".join(b.get("who", [])) or
            b.get("error", "—"), "—" if lat is None else "%.1f" % lat, b.get("dns", "—")))
    L += ["", "## Memory and listeners", "",
          "| system | process holding one idle session (after EHLO) | its VmRSS | its PSS | whole system, PSS "
          "(processes) | listen backlog |", "|---|---|---|---|---|---|"]
    for s in sy:
        m = res["memory"].get(s, {})
        own = m.get("owners", [])
        L.append("| %s | %s | %s | %s | %s | %s |" % (
            s, ", ".join("%s (%d)" % (o["name"], o["pid"]) for o in own) or m.get("error", "—"),
            ", ".join("%s KiB" % o["rss"] for o in own) or "—", ", ".join("%s KiB" % o["pss"] for o in own) or "—",
            "%d KiB (%d: %s)" % (m["total_pss"], m["processes"], ", ".join(m["names"])) if "total_pss" in m else "—",
            res["backlog"].get(s, "?")))
    if "pop3" in res:
        L += pop3.markdown(res["pop3"])
    L += system_install.markdown_lines(res)
    L += idle.markdown_lines(res)
    L += ["", "Total bench time %.0f s." % res["elapsed"], ""]
    return "\n".join(L)


def chart(res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    colors = {"quail": "#d95f02", "Postfix": "#1b9e77", "OpenSMTPD": "#7570b3"}
    rows = throughput_rows(res)
    panels = [("SMTP accept (250 after DATA)", [r for r in rows if r[0].startswith("accept")]),
              ("end-to-end: SMTP -> Maildir/new", [r for r in rows if r[0].startswith("end-to-end")]),
              ("relay: SMTP -> smtp-sink", [r for r in rows if r[0].startswith("relay")])]
    # accept across the top; end-to-end below it, with relay beside it
    acc, e2e, rel = (len(p[1]) for p in panels)
    width = max(acc, e2e + rel + (0.8 if rel else 0), 1)
    fig = plt.figure(figsize=(2.1 * width + 2, 9.5))
    grid = fig.add_gridspec(2, 2, width_ratios=[max(e2e, 1) + 0.4, rel + 0.4 if rel else 0.01])
    axes = [fig.add_subplot(grid[0, :]), fig.add_subplot(grid[1, 0])] + ([fig.add_subplot(grid[1, 1])] if rel else [])
    panels = [p for p in panels if p[1]]
    disk = res["disk"]["median"]
    for ax, (title, prow) in zip(axes, panels):
        systems = [s for s in res["systems"] if s in colors]
        width = 0.8 / len(systems)
        top = disk
        for i, (label, _, rats, meds) in enumerate(prow):
            group_top = 0
            for j, s in enumerate(systems):
                v = meds.get(s) or 0
                group_top = max(group_top, v)
                x = i + (j - (len(systems) - 1) / 2) * width
                ax.bar(x, v, width, color=colors[s], label=s if i == 0 else None)
                if v:
                    ax.text(x, v, "%.0f" % v, ha="center", va="bottom", fontsize=7)
                elif s == "quail" and res["relay"].get(s) and title.startswith("relay"):
                    ax.text(x, 0, "n/a", ha="center", va="bottom", fontsize=8, color=colors[s])
            top = max(top, group_top)
            if rats.get("Postfix", "—") != "—":
                ax.text(i, group_top * 1.07 + top * 0.02, "quail/Postfix\n%s" % rats["Postfix"], ha="center",
                        va="bottom", fontsize=8, color=colors["quail"], fontweight="bold",
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
        ax.axhline(disk, color="black", ls="--", lw=0.8, label="disk: %.0f durable writes/s" % disk)
        ax.set_xticks(range(len(prow)))
        ax.set_xticklabels([r[0].split(", ", 1)[1].replace(", ", "\n") for r in prow], fontsize=8)
        ax.set_xlim(-0.5, len(prow) - 0.5)
        ax.set_ylim(0, top * 1.3)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("messages/s, median of %d runs" % res["runs_count"], fontsize=8)
        ax.legend(fontsize=8, loc="upper left")  # the one-message-per-session groups on the left are the low ones
    notes = []
    for s in res["systems"]:
        d, m, b = res["durability"].get(s, {}), res["memory"].get(s, {}), res["before250"].get(s, {})
        if s == "smtp-sink":
            sink = [r[3].get(s) for r in rows if r[3].get(s)]
            if sink:
                notes.append("smtp-sink (no disk) accepts %.0f-%.0f msg/s" % (min(sink), max(sink)))
            continue
        own = m.get("owners") or [{}]
        notes.append("%s: %s fsyncs/msg%s, idle session %s KiB RSS" % (
            s, "%.1f" % d["per_msg"] if "per_msg" in d else "?",
            " (250 before any fsync)" if b.get("receiving_median") == 0 else "", own[0].get("rss", "?")))
    fig.suptitle("quail vs Postfix vs OpenSMTPD: %d messages of 4 KiB per run over loopback, %s" %
                 (res["messages"], res["date"]), fontsize=11)
    fig.text(0.5, 0.01, "   |   ".join(notes), ha="center", fontsize=8)
    fig.tight_layout(rect=(0, 0.03, 1, 0.96))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_all(res, outdir):
    os.makedirs(outdir, exist_ok=True)
    text = markdown(res)
    day = res["date"][:10]
    base = "peers-" + res["fs"] if res.get("fs") else "peers"  # one set of files per filesystem
    for name in ("%s-%s.md" % (base, day), "%s-latest.md" % base):
        with open(os.path.join(outdir, name), "w") as f:
            f.write(text)
    with open(os.path.join(outdir, "%s-latest.json" % base), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    chart(res, os.path.join(outdir, "%s-latest.png" % base))
    return text
