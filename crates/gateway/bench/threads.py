"""Where Cordon's CPU goes, by thread: NGINX proxy_pass and the Cordon reverse proxy alternated
(the same upstream, configuration and request mix as bench.py), printing for each Cordon arm its
CPU per request split by thread name (tokio workers, the log's sequencer and integrator), its
context switches per request and the log's entries per write-ahead batch.

One Cordon at a time: settings that change how many files the log creates (checkpoint_interval_ms)
cannot be compared in one run on one file system, because on ext4 without a journal every
process's recently freed inodes slow the next allocation (BENCHMARKS.md). Run each setting
separately, after a few minutes without other file churn:

  python3 crates/gateway/bench/threads.py --cordon target/release/cordon [--log-setting "checkpoint_interval_ms = 20"]
"""
import argparse
import os
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as b  # noqa: E402


def thread_ticks(pid):
    ticks = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
            fields = open(f"/proc/{pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()
            ticks[(name, tid)] = int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return ticks


def switches(pids):
    total = 0
    for pid in pids:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                for line in open(f"/proc/{pid}/task/{tid}/status"):
                    if "ctxt_switches" in line:
                        total += int(line.split()[1])
            except OSError:
                pass
    return total


def metric(port, name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cordon", required=True)
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--log-setting", default="", help='a line added to [log], e.g. "checkpoint_interval_ms = 20"')
    a = ap.parse_args()
    d, p, pack = b.workspace(("metrics",))
    conf = b.cordon_conf(d, p, pack, 0, setting=a.log_setting)
    conf += f'\n[metrics]\nlisten = "127.0.0.1:{p["metrics"]}"\n'
    ngx, cordon = b.start(a.cordon, d, p, conf, 10)
    hz = os.sysconf("SC_CLK_TCK")
    try:
        for k in ("upstream", "proxy"):
            b.wait_port(p[k])
        for k in ("cordon", "metrics"):
            b.wait_port(p[k], server=cordon, log=f"{d}/cordon.log")
        pids = b.server_pids(ngx, cordon)
        print(f"[log] {a.log_setting or '(defaults)'}; {a.connections} connections, {a.seconds} s per arm")
        for _ in range(a.pairs):
            for arm in ("proxy", "cordon"):
                t0, s0 = thread_ticks(cordon.pid), switches([cordon.pid])
                e0 = metric(p["metrics"], "cordon_log_appended_total")
                n0 = metric(p["metrics"], "cordon_log_batches_total")
                r = b.run_wrk(p[arm], a.seconds, a.connections, f"{d}/bench.lua", pids)
                t1, s1 = thread_ticks(cordon.pid), switches([cordon.pid])
                e1 = metric(p["metrics"], "cordon_log_appended_total")
                n1 = metric(p["metrics"], "cordon_log_batches_total")
                line = f"{'nginx proxy_pass' if arm == 'proxy' else 'cordon'}: {r['rps']:.0f} req/s, server CPU {r['cpu_us']:.0f} us/req"
                if arm == "cordon":
                    by_name = {}
                    for k, v in t1.items():
                        by_name[k[0]] = by_name.get(k[0], 0) + v - t0.get(k, 0)
                    split = ", ".join(f"{k} {v / hz / max(r['reqs'], 1) * 1e6:.1f}" for k, v in sorted(by_name.items()) if v)
                    line += (f"; Cordon by thread, us/req: {split}; switches/req {(s1 - s0) / max(r['reqs'], 1):.2f}; "
                             f"entries per write-ahead batch {(e1 - e0) / max(n1 - n0, 1):.1f}")
                print(line, flush=True)
    finally:
        b.stop(d, ngx, cordon)


if __name__ == "__main__":
    main()
