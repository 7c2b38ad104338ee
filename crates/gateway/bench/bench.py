"""Runs the gateway benchmark arms with wrk, alternated, and prints a Markdown table.

Every server (nginx, Cordon) runs on loopback ports on this machine; wrk runs beside
them, so all arms share the same cores. CPU per request is the user+system time of all
server processes (nginx master/workers and Cordon) over the run, divided by requests.
"""
import argparse, os, re, shutil, signal, socket, subprocess, sys, tempfile, time

WRK_SCRIPT = r'''
local n = 0
local every = DENY_EVERY
request = function()
  n = n + 1
  -- Every DENY_EVERY-th request comes from ICE ERO: Cordon denies it (and logs it), the
  -- NGINX arms answer it 403 themselves, so every arm serves the same mix.
  local auth = (every > 0 and n % every == 0) and "Bearer demo-ice" or "Bearer demo-cpd"
  return wrk.format("GET", "/alpr/plates/FAKE123", {
    ["Authorization"] = auth,
    ["Cordon-Purpose"] = "criminal_investigation",
    ["Cordon-Reason"] = "burglary%20suspect%20vehicle",
  })
end
'''

RECORD = '{"synthetic":"FAKE DEMO DATA","plate":"FAKE123","vehicle":"Demo Motors Sedan","registered_owner":{"id":"P-1001","name":"Alex Example","immigration_status":"lawful_permanent_resident","place_of_birth":"Fakeland"},"reads":[{"camera":"DEMO-CAM-01","time":"2026-11-01T08:15:00Z"}]}'


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=20, server=None, log=None):
    """Waits for a listener on `port`; if `server` (a process writing `log`) stops first,
    exits with what it said, so a bad setting names itself."""
    end = time.time() + timeout
    while time.time() < end:
        if server is not None and server.poll() is not None:
            said = open(log).read()[-2000:] if log and os.path.exists(log) else ""
            sys.exit(f"the server for port {port} stopped (exit {server.returncode}):\n{said}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on port {port}")


PROXY_SECRET = "bench-proxy-secret-7c2e9a41d05b38f6"
DENY_ICE = 'if ($http_authorization = "Bearer demo-ice") { return 403; }'


def nginx_conf(d, p):
    return f"""daemon off;
worker_processes 2;
error_log {d}/nginx-error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {d}/b; proxy_temp_path {d}/p; fastcgi_temp_path {d}/f; uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;
  upstream records {{ server 127.0.0.1:{p['upstream']}; keepalive 64; }}
  upstream cordon {{ server 127.0.0.1:{p['cordon']}; keepalive 64; }}
  upstream stub {{ server 127.0.0.1:{p['stub']}; keepalive 64; }}
  # The upstream: a static JSON record. Like every NGINX arm it refuses the ICE key with
  # 403, so all arms answer the same requests the same way (Cordon: by its policy).
  server {{ listen 127.0.0.1:{p['upstream']};
    root {d}; location / {{ {DENY_ICE} default_type application/json; try_files /record.json =404; }} }}
  # The stub that says yes to everyone but the ICE key.
  server {{ listen 127.0.0.1:{p['stub']}; location / {{ {DENY_ICE} return 200; }} }}
  # nginx proxy_pass to the upstream.
  server {{ listen 127.0.0.1:{p['proxy']};
    location / {{ {DENY_ICE} proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://records; }} }}
  # nginx auth_request to the always-yes stub.
  server {{ listen 127.0.0.1:{p['authstub']};
    location = /_auth {{ internal; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_pass_request_body off; proxy_set_header Content-Length "";
      proxy_pass http://stub/auth; }}
    location / {{ auth_request /_auth; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://records; }} }}
  # nginx auth_request to Cordon's forward-auth endpoint.
  server {{ listen 127.0.0.1:{p['authcordon']};
    location = /_auth {{ internal; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_pass_request_body off; proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri; proxy_set_header X-Original-Method $request_method;
      proxy_set_header Cordon-Proxy-Secret "{PROXY_SECRET}";
      proxy_pass http://cordon/_cordon/auth; }}
    location / {{ auth_request /_auth;
      auth_request_set $cordon_receipt $upstream_http_cordon_receipt;
      proxy_set_header Cordon-Receipt $cordon_receipt;
      proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://records; }} }}
}}
"""


def cordon_conf(d, p, pack, interval_ms, listen="cordon", log="log", setting=""):
    # A setting that names the interval itself wins (TOML refuses a key given twice).
    given = interval_ms and not setting.replace(" ", "").startswith("checkpoint_interval_ms=")
    interval = f"checkpoint_interval_ms = {interval_ms}" if given else ""
    return f"""listen = "127.0.0.1:{p[listen]}"
upstream = "http://127.0.0.1:{p['upstream']}"
pack = "{pack}"
[log]
dir = "{d}/{log}"
key = "{d}/log.key"
{interval}
{setting}
[forward_auth]
dialect = "nginx"
proxy_secret_file = "{d}/proxy.secret"
[identity]
dev_mode = true
[[identity.api_keys]]
key = "demo-cpd"
principal = "cpd-detective-0417"
agency = "cpd"
[[identity.api_keys]]
key = "demo-ice"
principal = "ice-ero-officer-12"
agency = "ice-ero"
[[routes]]
prefix = "/alpr/plates"
dataset = "alpr"
action = "search"
# Forward-auth allows a search whose answer must be redacted only when the upstream
# promises to redact; the reverse proxy redacts the JSON itself either way.
upstream_redacts = true
"""


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total


def server_pids(nginx_master, cordon):
    pids = [nginx_master.pid, cordon.pid]
    out = subprocess.run(["pgrep", "-P", str(nginx_master.pid)], capture_output=True, text=True)
    pids += [int(x) for x in out.stdout.split()]
    return pids


def to_ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(port, seconds, conns, script, pids):
    t0 = cpu_ticks(pids)
    out = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", script,
                          f"http://127.0.0.1:{port}/alpr/plates/FAKE123"], capture_output=True, text=True).stdout
    ticks = cpu_ticks(pids) - t0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    lat = {m.group(1): to_ms(m.group(2), m.group(3)) for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)", out, re.M)}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    hz = os.sysconf("SC_CLK_TCK")
    return {"rps": rps, "p50": lat.get("50"), "p99": lat.get("99"), "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "reqs": reqs, "cpu_us": ticks / hz / max(reqs, 1) * 1e6, "errors": errors.group(1) if errors else ""}


def workspace(extra_ports=()):
    """A scratch directory holding the upstream's record and the proxy secret, free ports for
    every server, and the policy pack's path."""
    d = tempfile.mkdtemp(prefix="cordon-bench-")
    os.chmod(d, 0o755)  # nginx workers drop to an unprivileged user and must read record.json
    names = ("upstream", "stub", "proxy", "authstub", "authcordon", "cordon") + tuple(extra_ports)
    p = {k: free_port() for k in names}
    open(f"{d}/record.json", "w").write(RECORD)
    open(f"{d}/proxy.secret", "w").write(PROXY_SECRET)
    return d, p, os.path.abspath("policies/chicago-welcoming-city")


def start(cordon_bin, d, p, conf, deny_every):
    """Writes NGINX's and Cordon's configuration and wrk's script, creates the log, and starts
    NGINX (upstream and every NGINX arm) and Cordon."""
    open(f"{d}/nginx.conf", "w").write(nginx_conf(d, p))
    open(f"{d}/cordon.toml", "w").write(conf)
    open(f"{d}/bench.lua", "w").write(WRK_SCRIPT.replace("DENY_EVERY", str(deny_every)))
    key = subprocess.run([cordon_bin, "log", "init", f"{d}/log", "--origin", "bench.cordon.example/log",
                          "--key", f"{d}/log.key"], capture_output=True, text=True)
    if key.returncode != 0:
        sys.exit(key.stderr)
    nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
    ngx = subprocess.Popen([nginx_bin, "-p", d, "-c", f"{d}/nginx.conf", "-e", f"{d}/nginx-error.log"])
    cordon = subprocess.Popen([cordon_bin, "serve", "--config", f"{d}/cordon.toml"],
                              stderr=open(f"{d}/cordon.log", "w"), env={**os.environ, "RUST_LOG": "warn"})
    return ngx, cordon


def stop(d, ngx, cordon):
    """Stops Cordon and NGINX and removes the scratch directory."""
    cordon.send_signal(signal.SIGTERM)
    ngx.send_signal(signal.SIGQUIT)
    cordon.wait(timeout=30)
    ngx.wait(timeout=30)
    shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cordon", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--checkpoint-interval-ms", type=int, default=0, help="0: the log's default")
    ap.add_argument("--compare-log-setting", default="",
                    help='also run a second Cordon with this line added to its [log] section '
                         '(e.g. "commit_delay_us = 500"), as one more alternated arm')
    ap.add_argument("--compare-cordon", default="",
                    help="also run a second Cordon from this binary (another build, e.g. of an earlier commit), "
                         "same configuration, as one more alternated arm")
    ap.add_argument("--bare-proxy", default="",
                    help="the bare_proxy example (cargo build --release -p cordon-gateway --example bare_proxy): "
                         "adds two arms, hyper alone (the same mix, no policy, no log) on a work-stealing runtime "
                         "and on one event loop per core, to show what the HTTP stack costs without Cordon")
    ap.add_argument("--deny-every", type=int, default=10,
                    help="every Nth request is ICE's and refused by every arm; 0: all allowed")
    a = ap.parse_args()
    for tool in ("nginx", "wrk"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            sys.exit(f"{tool} is missing: apt-get install -y nginx wrk")
    d, p, pack = workspace(("other", "bare", "barecore"))
    setting = a.compare_log_setting
    other = " and ".join(x for x in (setting, a.compare_cordon and f"binary {a.compare_cordon}") if x)
    open(f"{d}/other.toml", "w").write(
        cordon_conf(d, p, pack, a.checkpoint_interval_ms, "other", "log-other", setting))
    ngx, cordon = start(a.cordon, d, p, cordon_conf(d, p, pack, a.checkpoint_interval_ms), a.deny_every)
    # The second Cordon creates its own log (log-other) with the same key on first start,
    # so the two Cordon arms differ only in the setting or the binary.
    second = subprocess.Popen([a.compare_cordon or a.cordon, "serve", "--config", f"{d}/other.toml"],
                              stderr=open(f"{d}/other.log", "w"),
                              env={**os.environ, "RUST_LOG": "warn"}) if other else None
    bare = [subprocess.Popen([a.bare_proxy, f"127.0.0.1:{p[k]}", f"127.0.0.1:{p['upstream']}"] + mode)
            for k, mode in (("bare", []), ("barecore", ["per-core"]))] if a.bare_proxy else []
    try:
        for k in ("upstream", "proxy", "authstub", "authcordon"):
            wait_port(p[k])
        wait_port(p["cordon"], server=cordon, log=f"{d}/cordon.log")
        if other:
            wait_port(p["other"], server=second, log=f"{d}/other.log")
        # Each arm's CPU is that of the processes in its path: NGINX, and the one Cordon it uses.
        pids = server_pids(ngx, cordon)
        arms = [("upstream direct", p["upstream"], pids), ("nginx proxy_pass", p["proxy"], pids),
                ("Cordon reverse proxy", p["cordon"], pids), ("nginx auth_request -> stub", p["authstub"], pids),
                ("nginx auth_request -> Cordon forward-auth", p["authcordon"], pids)]
        if other:
            arms.append((f"Cordon reverse proxy, {other}", p["other"], server_pids(ngx, second)))
        for proc, (k, label) in zip(bare, (("bare", "hyper alone, work-stealing"), ("barecore", "hyper alone, per core"))):
            wait_port(p[k])
            arms.append((label, p[k], server_pids(ngx, proc)))
        results = {name: [] for name, _, _ in arms}
        for r in range(a.rounds):
            for name, port, pids in arms:
                res = run_wrk(port, a.seconds, a.connections, f"{d}/bench.lua", pids)
                results[name].append(res)
                print(f"round {r + 1} {name}: {res['rps']:.0f} req/s p50 {res['p50']:.2f} ms p99 {res['p99']:.2f} ms "
                      f"cpu {res['cpu_us']:.0f} us/req non-2xx {res['non2xx']} {res['errors']}", file=sys.stderr)
        mix = f"every {a.deny_every}th request refused (403) by every arm" if a.deny_every else "every request allowed"
        print(f"\n{a.rounds} rounds x {a.seconds}s per arm, {a.connections} connections, wrk -t2, {os.cpu_count()} cores; "
              f"mix: {mix}\n")
        print("| arm | req/s (median) | p50 ms | p99 ms | server CPU us/req | non-2xx (denied) share |")
        print("|---|---|---|---|---|---|")
        med = lambda xs: sorted(xs)[len(xs) // 2]
        for name, _, _ in arms:
            rs = results[name]
            share = sum(x["non2xx"] for x in rs) / max(sum(x["reqs"] for x in rs), 1)
            print(f"| {name} | {med([x['rps'] for x in rs]):.0f} | {med([x['p50'] for x in rs]):.2f} | "
                  f"{med([x['p99'] for x in rs]):.2f} | {med([x['cpu_us'] for x in rs]):.0f} | {share:.1%} |")
        # Each round's ratio from arms run back to back; a target is met only if every round meets it.
        compared = [("Cordon proxy / nginx proxy_pass", "Cordon reverse proxy", "nginx proxy_pass", 1.0),
                    ("auth_request->Cordon / auth_request->stub", "nginx auth_request -> Cordon forward-auth",
                     "nginx auth_request -> stub", 0.9)]
        if other:
            compared.append((f"Cordon with {other} / nginx proxy_pass",
                             arms[-1][0], "nginx proxy_pass", 1.0))
            compared.append((f"Cordon with {other} / Cordon without", arms[-1][0],
                             "Cordon reverse proxy", 1.0))
        for label in ("hyper alone, work-stealing", "hyper alone, per core"):
            if bare:
                compared.append((f"{label} / nginx proxy_pass", label,
                                 "nginx proxy_pass", 1.0))
        for label, ours, theirs, target in compared:
            per_round = [o["rps"] / t["rps"] for o, t in zip(results[ours], results[theirs])]
            verdict = "met" if all(r >= target for r in per_round) else "missed"
            print(f"\n{label}: median {med(per_round):.2f}, rounds {', '.join(f'{r:.2f}' for r in per_round)} "
                  f"(target >= {target}: {verdict})")
    finally:
        for proc in bare:
            proc.kill()
            proc.wait()
        if second:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
        stop(d, ngx, cordon)


if __name__ == "__main__":
    main()
