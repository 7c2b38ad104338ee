"""Streams a large JSON answer through `cordon serve` and prints a Markdown table.

Arms, alternated each round, each with a fresh gateway process:
- upstream direct: the client reads the generator itself (the ceiling of this machine);
- Cordon pass-through: Cordon in front of it with a pack whose allows oblige no
  redaction (the Chicago stack with its @redact annotations removed);
- Cordon redacting: the Chicago pack, whose allow removes the status fields.
The upstream generates a chunked JSON array of person records on the fly (never held);
the client counts bytes. Peak memory is the gateway's VmHWM from /proc.
"""
import argparse, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time

RECORD = ('{"id":1234567,"name":"Fake Person","\\u0069mmigration_status":"undocumented",'
          '"nested":{"place_of_birth":"Fakeland","ok":[true,null,-1.5e3]},"charge":"burglary"}')
PER_BLOCK = 400
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../.."))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def serve_upstream(size):
    """A generator of a chunked JSON array of at least `size` bytes; returns its port."""
    block = ",".join([RECORD] * PER_BLOCK)
    chunk = lambda s: b"%x\r\n%s\r\n" % (len(s), s.encode())
    first, nxt = chunk("[" + block), chunk("," + block)
    blocks = -(-size // (len(block) + 1))
    lsn = socket.socket()
    lsn.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsn.bind(("127.0.0.1", 0))
    lsn.listen(16)

    def answer(c):
        try:
            c.recv(65536)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
            c.sendall(first)
            for _ in range(blocks - 1):
                c.sendall(nxt)
            c.sendall(b"1\r\n]\r\n0\r\n\r\n")
        except OSError:
            pass
        finally:
            c.close()

    def loop():
        while True:
            c, _ = lsn.accept()
            threading.Thread(target=answer, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    sent = 2 + blocks * PER_BLOCK * len(RECORD) + blocks * PER_BLOCK - 1
    return lsn.getsockname()[1], sent


def fetch(port, path):
    """GET `path` with the CPD headers; (bytes read, seconds, whether it ended properly)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n"
               "Authorization: Bearer demo-cpd\r\nCordon-Purpose: criminal_investigation\r\n"
               "Cordon-Reason: burglary\r\n\r\n").encode())
    start = time.perf_counter()
    buf = bytearray(1 << 20)
    n, tail = 0, b""
    while True:
        k = s.recv_into(buf)
        if not k:
            break
        n += k
        tail = (tail + bytes(buf[max(0, k - 16):k]))[-16:]
    s.close()
    return n, time.perf_counter() - start, tail.endswith(b"0\r\n\r\n")


def pack_without_redaction(d):
    src = os.path.join(ROOT, "policies")
    for pack in ("chicago-welcoming-city", "illinois-trust-act", "illinois-alpr-2-130"):
        shutil.copytree(os.path.join(src, pack), os.path.join(d, pack))
        for f in os.listdir(os.path.join(d, pack)):
            if f.endswith(".cedar"):
                p = os.path.join(d, pack, f)
                lines = open(p).read().splitlines()
                open(p, "w").write("\n".join(l for l in lines if not l.startswith("@redact(")))
    return os.path.join(d, "chicago-welcoming-city")


def status(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_cordon(cordon, d, upstream, pack):
    port = free_port()
    os.makedirs(d)
    subprocess.run([cordon, "log", "init", f"{d}/log", "--origin", "bench.cordon.example/log",
                    "--key", f"{d}/log.key"], check=True, capture_output=True)
    open(f"{d}/cordon.toml", "w").write(f"""listen = "127.0.0.1:{port}"
upstream = "http://127.0.0.1:{upstream}"
pack = "{pack}"
[log]
dir = "{d}/log"
key = "{d}/log.key"
[identity]
dev_mode = true
[[identity.api_keys]]
key = "demo-cpd"
principal = "cpd-detective-0417"
agency = "cpd"
[[routes]]
prefix = "/records/people"
dataset = "arrests"
action = "read"
""")
    proc = subprocess.Popen([cordon, "serve", "--config", f"{d}/cordon.toml"],
                            stderr=open(f"{d}/cordon.log", "w"), env={**os.environ, "RUST_LOG": "warn"})
    end = time.time() + 20
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    sys.exit(f"cordon did not start; see {d}/cordon.log")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cordon", required=True)
    ap.add_argument("--size", type=int, default=1 << 30)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="cordon-stream-bench-")
    up, sent = serve_upstream(a.size)
    packs = {"Cordon pass-through": pack_without_redaction(os.path.join(d, "packs")),
             "Cordon redacting": os.path.join(ROOT, "policies/chicago-welcoming-city")}
    rows = {k: [] for k in ("upstream direct", *packs)}
    try:
        for r in range(a.rounds):
            n, secs, ok = fetch(up, "/records/people/P-1001")
            rows["upstream direct"].append((n, secs, ok, 0, 0, 0))
            for arm, pack in packs.items():
                proc, port = start_cordon(a.cordon, os.path.join(d, f"{r}-{arm[7:11]}"), up, pack)
                try:
                    before, cpu0 = status(proc.pid, "VmHWM"), cpu_seconds(proc.pid)
                    n, secs, ok = fetch(port, "/records/people/P-1001")
                    rows[arm].append((n, secs, ok, before, status(proc.pid, "VmHWM"),
                                      cpu_seconds(proc.pid) - cpu0))
                finally:
                    proc.terminate()
                    proc.wait()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    mib = lambda b: b / (1 << 20)
    print(f"upstream body: {sent} bytes ({mib(sent):.0f} MiB); {a.rounds} rounds, median shown\n")
    print("| arm | bytes to client | complete | MB/s of upstream body | gateway VmHWM at start (MiB) | gateway VmHWM after (MiB) | gateway CPU s |")
    print("|---|---|---|---|---|---|---|")
    for arm, rs in rows.items():
        med = lambda i: statistics.median(x[i] for x in rs)
        cordon = arm != "upstream direct"
        print(f"| {arm} | {rs[0][0]} | {all(x[2] for x in rs)} | {sent / med(1) / 1e6:.0f} | "
              + (f"{mib(med(3)):.1f} | {mib(med(4)):.1f} | {med(5):.2f} |" if cordon else "- | - | - |"))


if __name__ == "__main__":
    main()
