#!/usr/bin/env python3
"""An independent implementation of aifed-sim's single-site reference mode.

Written from the rules in docs/simulator.md only (no code shared with the C++), small
and plain on purpose. With --sim it also runs `aifed-sim single` and compares the start
time of every job; exit status 1 on any difference.

  swf_reference.py --trace T.swf --sched easy [--size N] [--jobs-out F]
  swf_reference.py --trace T.swf --sched fcfs --sim build/sim/aifed-sim
"""
import argparse
import bisect
import csv
import gzip
import subprocess
import sys
import tempfile


def ms(text):
    return int(round(float(text) * 1000))


def read_trace(path):
    opener = gzip.open if path.endswith(".gz") else open
    header, jobs = {}, []
    with opener(path, "rt") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            if line.startswith(";"):
                key, sep, value = line[1:].partition(":")
                if sep and key.strip() and " " not in key.strip():
                    header[key.strip()] = value.strip()
                continue
            jobs.append(line.split())
    return header, jobs


def load_jobs(jobs_fields, size):
    jobs = []
    for f in jobs_fields:
        procs = int(float(f[4]))
        if procs == -1:
            procs = int(float(f[7]))
        runtime = ms(f[3])
        requested = ms(f[8])
        if requested < 0:
            requested = runtime
        if runtime < 0 or procs <= 0 or procs > size:
            continue
        jobs.append({"id": int(float(f[0])), "submit": ms(f[1]), "procs": procs,
                     "req": requested, "run": min(runtime, requested),
                     "start": None, "end": None})
    jobs.sort(key=lambda j: (j["submit"], j["id"]))
    return jobs


def earliest_fit(steps, procs, length):
    """First instant of a step list [[time, free processors], ...] (the last step lasts
    for ever) from which `procs` processors stay free for `length` ms."""
    n = len(steps)
    k = 0
    while k < n:
        start, free = steps[k]
        if free < procs:
            k += 1
            continue
        end = start + length
        m = k + 1
        while m < n and steps[m][0] < end and steps[m][1] >= procs:
            m += 1
        if m == n or steps[m][0] >= end:
            return start
        k = m + 1  # step m has too few: no start at or before it fits
    raise AssertionError("a job that fits the machine always fits after the last step")


def take(steps, start, procs, length):
    """Removes `procs` processors from `steps` over [start, start + length)."""
    end = start + length
    k = bisect.bisect_left(steps, [end])
    if k == len(steps) or steps[k][0] != end:
        steps.insert(k, [end, steps[k - 1][1]])
    for step in steps[bisect.bisect_left(steps, [start]):k]:
        step[1] -= procs


def simulate(jobs, size, sched):
    easy = sched == "easy"
    conservative = sched == "conservative"
    free = size
    waiting = []   # queue order
    running = []   # jobs started and not yet ended
    i = 0
    while i < len(jobs) or running or waiting:
        times = [j["end"] for j in running]
        if i < len(jobs):
            times.append(jobs[i]["submit"])
        t = min(times)
        # 1. every completion at t
        for j in [j for j in running if j["end"] <= t]:
            running.remove(j)
            free += j["procs"]
        # 2. every arrival at t
        while i < len(jobs) and jobs[i]["submit"] <= t:
            waiting.append(jobs[i])
            i += 1

        # 3. one scheduler pass
        def start(j):
            nonlocal free
            j["start"] = t
            j["end"] = t + j["run"]
            free -= j["procs"]
            running.append(j)
            waiting.remove(j)

        if conservative:
            # Every waiting job, in queue order, reserves the earliest slot where it fits
            # for its requested time (at least 1 ms) in a profile of free processors:
            # the running jobs' requested ends, then the reservations before it. A job
            # whose slot is now starts now; once nothing is free, nothing more can.
            steps = [[t, free]]
            for end in sorted(set(j["start"] + j["req"] for j in running)):
                released = sum(j["procs"] for j in running if j["start"] + j["req"] == end)
                steps.append([end, steps[-1][1] + released])
            for j in list(waiting):
                if free == 0:
                    break
                length = max(j["req"], 1)
                at = earliest_fit(steps, j["procs"], length)
                take(steps, at, j["procs"], length)
                if at == t:
                    start(j)
            continue
        while waiting and waiting[0]["procs"] <= free:
            start(waiting[0])
        if easy and waiting:
            head = waiting[0]
            avail = free
            shadow = None
            extra = 0
            for req_end in sorted(set(j["start"] + j["req"] for j in running)):
                avail += sum(j["procs"] for j in running if j["start"] + j["req"] == req_end)
                if avail >= head["procs"]:
                    shadow, extra = req_end, avail - head["procs"]
                    break
            for j in list(waiting[1:]):
                if free == 0:
                    break
                if j["procs"] > free:
                    continue
                if t + j["req"] <= shadow:
                    start(j)
                elif j["procs"] <= extra:
                    extra -= j["procs"]
                    start(j)
    return jobs


def secs(v):
    return str(v // 1000) if v % 1000 == 0 else ("%.3f" % (v / 1000)).rstrip("0")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--trace", required=True)
    p.add_argument("--sched", choices=["fcfs", "easy", "conservative"], required=True)
    p.add_argument("--size", type=int)
    p.add_argument("--jobs-out")
    p.add_argument("--sim", help="aifed-sim binary to compare against")
    a = p.parse_args()
    header, fields = read_trace(a.trace)
    size = a.size or int(float(header.get("MaxProcs") or header["MaxNodes"]))
    jobs = simulate(load_jobs(fields, size), size, a.sched)
    if a.jobs_out:
        with open(a.jobs_out, "w") as out:
            out.write("job_id,submit,start,end,procs\n")
            for j in jobs:
                out.write("%d,%s,%s,%s,%d\n" % (j["id"], secs(j["submit"]), secs(j["start"]),
                                                secs(j["end"]), j["procs"]))
    if not a.sim:
        return 0
    with tempfile.NamedTemporaryFile(suffix=".csv") as tmp:
        cmd = [a.sim, "single", "--trace", a.trace, "--sched", a.sched, "--jobs-out", tmp.name]
        if a.size:
            cmd += ["--size", str(a.size)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(tmp.name) as f:
            theirs = list(csv.DictReader(f))
    mismatches = 0
    if len(theirs) != len(jobs):
        print("job count differs: reference %d, aifed-sim %d" % (len(jobs), len(theirs)))
        return 1
    for mine, row in zip(jobs, theirs):
        if int(row["job_id"]) != mine["id"] or ms(row["start"]) != mine["start"]:
            mismatches += 1
            if mismatches <= 10:
                print("job %s: reference starts %s, aifed-sim job %s starts %s"
                      % (mine["id"], secs(mine["start"]), row["job_id"], row["start"]))
    print("%s %s: %d jobs compared, %d differ" % (a.trace, a.sched, len(jobs), mismatches))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
