//! The public page, its counts and the know-your-rights pages, from a running gateway
//! with real logged decisions: they render in headless Chromium, the numbers a resident
//! reads are the ones in `/stats.json`, and nothing private from the entries leaks.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
mod common;
use common::{Harness, CPD, ICE};
use cordon_gateway::site::{PublicSection, Site};
use cordon_gateway::wire;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// Values that are in the entries and must never be public.
const PRIVATE: [&str; 9] = [
    "cpd-detective-0417",
    "ice-ero-officer-12",
    "FAKE123",
    "TEST456",
    "JD-1",
    "burglary",
    "fugitive",
    "Maria",
    "alpr/plates",
];

/// A lawful CPD search, an ICE search (denied), an immigration purpose from CPD (denied)
/// and a typed purpose outside the vocabulary (denied).
async fn decide(h: &Harness) {
    for plate in ["FAKE123", "TEST456", "FAKE123"] {
        let r = h.get(&format!("/alpr/plates/{plate}"), &CPD).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    for _ in 0..2 {
        let r = h.get("/alpr/plates/FAKE123", &ICE).await;
        assert_eq!(r.status, 403, "{}", r.text());
    }
    let mut imm = CPD;
    imm[1] = ("Cordon-Purpose", "civil_immigration_enforcement");
    assert_eq!(h.get("/alpr/plates/TEST456", &imm).await.status, 403);
    let mut typed = CPD;
    typed[1] = ("Cordon-Purpose", "find%20Maria");
    assert_eq!(h.get("/alpr/plates/TEST456", &typed).await.status, 403);
}

/// A running public listener; [`SiteRun::stop`] lets go of the gateway so it can close.
struct SiteRun {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl SiteRun {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

async fn start_site(h: &Harness) -> SiteRun {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let section = PublicSection {
        listen: addr,
        url: None,
    };
    let site = Arc::new(Site::new(h.gw.clone(), &section));
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(cordon_gateway::site::serve(site, listener, async {
        let _ = rx.await;
    }));
    SiteRun { addr, stop, task }
}

async fn wait_integrated(h: &Harness) {
    let size = h.gw.log().durable_size();
    let gw = h.gw.clone();
    tokio::task::spawn_blocking(move || gw.log().wait_checkpoint(size, Duration::from_secs(10)))
        .await
        .unwrap()
        .unwrap();
}

async fn get(addr: SocketAddr, path: &str) -> wire::Reply {
    wire::send(addr, &wire::request("GET", path, &[]))
        .await
        .unwrap()
}

fn chromium_dom(url: &str, profile: &std::path::Path) -> String {
    let bin = std::env::var("CORDON_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let out = Command::new(&bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", url])
        .output()
        .unwrap_or_else(|e| {
            panic!("running {bin}: {e}; install it with `apt-get install chromium` (.ci/run does)")
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The number in the element carrying `data-figure="key"`, as the browser parsed it.
fn shown(dom: &str, key: &str) -> Option<u64> {
    let at = dom.find(&format!("data-figure=\"{key}\""))?;
    let rest = &dom[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    rest[start..end].trim().parse().ok()
}

fn assert_nothing_private(what: &str, text: &str) {
    for p in PRIVATE {
        assert!(!text.contains(p), "{what} shows the private value {p:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_pages_render_in_chromium_match_stats_json_and_leak_nothing() {
    let h = Harness::start().await;
    decide(&h).await;
    wait_integrated(&h).await;
    let run = start_site(&h).await;
    let site = run.addr;

    let stats = get(site, "/stats.json").await;
    assert_eq!(stats.status, 200, "{}", stats.text());
    let json = stats.json();
    let c = &json["counts"];
    assert_eq!(c["total"]["allowed"], 3);
    assert_eq!(c["total"]["denied"], 4);
    assert_eq!(c["total"]["immigration_denied"], 2);
    assert_eq!(c["by_agency_kind"]["federal_immigration"]["denied"], 2);
    assert_eq!(
        c["by_purpose"]["civil_immigration_enforcement"]["denied"],
        1
    );
    assert_eq!(c["by_purpose"]["unrecognized"]["denied"], 1);
    assert_eq!(json["checkpoint"]["size"], 7);
    assert_nothing_private("/stats.json", &stats.text());

    let tmp = tempfile::tempdir().unwrap();
    let url = format!("http://{site}/");
    let dom = tokio::task::spawn_blocking({
        let p = tmp.path().join("p1");
        move || chromium_dom(&url, &p)
    })
    .await
    .unwrap();
    assert!(
        dom.contains("<svg id=\"by-agency_kind\""),
        "the agency chart renders"
    );
    assert!(dom.contains("Check it yourself"));
    assert!(dom.contains(&format!("cordon verify http://{site}")));
    assert!(
        dom.contains(&format!("curl -o first-tile http://{site}/tile/0/000.p/7")),
        "the tile command names a tile that exists"
    );
    let total = c["total"]["allowed"].as_u64().unwrap() + c["total"]["denied"].as_u64().unwrap();
    assert_eq!(shown(&dom, "total"), Some(total));
    for key in ["allowed", "denied", "immigration_denied"] {
        assert_eq!(shown(&dom, key), c["total"][key].as_u64(), "{key}");
    }
    for (group, field) in [
        ("agency_kind", "by_agency_kind"),
        ("purpose", "by_purpose"),
        ("month", "by_month"),
    ] {
        let buckets = c[field].as_object().unwrap();
        assert!(!buckets.is_empty(), "{field}");
        for (bucket, tally) in buckets {
            for key in ["allowed", "denied", "immigration_denied"] {
                assert_eq!(
                    shown(&dom, &format!("{group}.{bucket}.{key}")),
                    tally[key].as_u64(),
                    "{group}.{bucket}.{key}"
                );
            }
        }
    }
    assert_eq!(
        shown(&dom, "checkpoint.size"),
        json["checkpoint"]["size"].as_u64()
    );
    assert_nothing_private("the public page", &dom);

    for (path, lang, must) in [
        (
            "/rights",
            "en",
            ["I-200", "judicial warrant", "remain silent", "lawyer"],
        ),
        (
            "/derechos",
            "es",
            ["I-200", "orden judicial", "guardar silencio", "abogado"],
        ),
    ] {
        let url = format!("http://{site}{path}");
        let p = tmp.path().join(&path[1..]);
        let dom = tokio::task::spawn_blocking(move || chromium_dom(&url, &p))
            .await
            .unwrap();
        assert!(dom.contains(&format!("lang=\"{lang}\"")), "{path}");
        for m in must {
            assert!(dom.contains(m), "{path} says {m:?}");
        }
        assert_nothing_private(path, &dom);
    }
    run.stop().await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_listener_serves_the_checkpoint_and_hash_tiles_but_no_entries() {
    let h = Harness::start().await;
    decide(&h).await;
    wait_integrated(&h).await;
    let run = start_site(&h).await;
    let site = run.addr;
    let cp = get(site, "/checkpoint").await;
    assert_eq!(cp.status, 200);
    assert!(
        cp.text().starts_with("test.cordon.example/gateway\n7\n"),
        "{}",
        cp.text()
    );
    assert_eq!(get(site, "/tile/0/000.p/7").await.status, 200);
    for p in [
        "/tile/entries/000.p/7",
        "/alpr/plates/FAKE123",
        "/metrics",
        "/.cordon/vkey",
    ] {
        let r = get(site, p).await;
        assert_eq!(r.status, 404, "{p}");
        assert_nothing_private(p, &r.text());
    }
    let post = wire::send(site, &wire::request("POST", "/", &[]))
        .await
        .unwrap();
    assert_eq!(post.status, 405);
    run.stop().await;
    h.stop().await;
}

/// Counts resume where they stopped, across bundle boundaries, and a fresh start (as after
/// a restart) counts the whole log to the same numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_after_a_restart_cover_the_whole_log() {
    let h = Harness::start().await;
    let section = PublicSection {
        listen: "127.0.0.1:9".parse().unwrap(),
        url: Some("https://log.example.org/".into()),
    };
    let running = Site::new(h.gw.clone(), &section);
    let mut sizes = Vec::new();
    for round in 0..3 {
        let mut tasks = Vec::new();
        for i in 0..130 {
            let addr = h.addr;
            let who = if (i + round) % 5 == 0 { ICE } else { CPD };
            tasks.push(tokio::spawn(async move {
                let raw = wire::request("GET", "/alpr/plates/FAKE123", &who);
                wire::send(addr, &raw).await.unwrap().status
            }));
        }
        for t in tasks {
            assert!([200, 403].contains(&t.await.unwrap()));
        }
        wait_integrated(&h).await;
        let snap = running.snapshot().unwrap();
        sizes.push(snap.counts.entries);
        assert_eq!(snap.public_url, "https://log.example.org");
    }
    let last = running.snapshot().unwrap();
    assert_eq!(last.counts.entries, 390, "{sizes:?}");
    let fresh = {
        let again = Site::new(h.gw.clone(), &section);
        again.snapshot().unwrap()
    };
    assert_eq!(fresh.counts, last.counts);
    assert_eq!(fresh.counts.total.allowed + fresh.counts.total.denied, 390);
    assert_eq!(fresh.counts.total.immigration_denied, 78);
    drop(running);
    h.stop().await;
}

/// The 403 lists every rule that refused with its basis and citation, and the public page
/// shows, for every rule that can refuse, what it stands on and how many refusals it made.
#[tokio::test]
async fn refusals_and_the_public_page_say_whether_each_rule_is_law_or_policy() {
    let h = Harness::start().await;
    let refused = h.get("/alpr/plates/FAKE123", &ICE).await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    let body = refused.json();
    let rules = body["rules"].as_array().unwrap();
    assert!(!rules.is_empty(), "{body}");
    let words = ["state law", "city ordinance", "agency choice"];
    for r in rules {
        let basis = r["basis_words"].as_str().unwrap();
        assert!(words.iter().any(|w| basis.starts_with(w)), "{r}");
        assert!(!r["citation"].as_str().unwrap().is_empty(), "{r}");
        assert!(!r["source"].as_str().unwrap().is_empty(), "{r}");
    }
    let ids: Vec<String> = rules
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["pack"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        serde_json::to_value(&ids).unwrap(),
        body["policies"],
        "one rule per deciding policy, in order"
    );
    // ICE is refused by the city's own choice, and by the TRUST Act's ban on immigration
    // agents' use of agency databases: both bases show.
    let grounds = body["grounds"].to_string();
    assert!(
        grounds.contains("agency choice") && grounds.contains("state law"),
        "{body}"
    );

    wait_integrated(&h).await;
    let site = start_site(&h).await;
    let stats = get(site.addr, "/stats.json").await.json();
    let listed = stats["rules"].as_array().unwrap();
    for id in &ids {
        let row = listed
            .iter()
            .find(|r| r["rule"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} is not on the public page: {stats}"));
        assert_eq!(row["denied"], 1, "{row}");
    }
    let counsel = listed
        .iter()
        .find(|r| r["needs_counsel"].is_string())
        .expect("the TRUST Act pack has rules that need counsel");
    assert!(counsel["basis_words"]
        .as_str()
        .unwrap()
        .contains("needs counsel"));
    let page = get(site.addr, "/").await.text();
    for id in &ids {
        let row_at = page
            .find(&format!("data-rule=\"{id}\""))
            .unwrap_or_else(|| panic!("no row for {id}"));
        let row = &page[row_at..row_at + page[row_at..].find("</tr>").unwrap()];
        assert!(words.iter().any(|w| row.contains(w)), "{row}");
        assert!(row.ends_with("<td>1</td>"), "{row}");
    }
    assert!(page.contains("needs counsel"));
    site.stop().await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_change_is_counted_on_the_public_page_without_the_routes_it_named() {
    let h = Harness::start().await;
    decide(&h).await;
    let mut config = h.gw.config().clone();
    config.routes.retain(|r| r.prefix != "/records/people");
    h.gw.reload(&config).await.unwrap();
    wait_integrated(&h).await;
    let run = start_site(&h).await;

    let stats = get(run.addr, "/stats.json").await;
    let c = &stats.json()["counts"];
    assert_eq!(c["policy_changes"], 1);
    let change = &c["recent_policy_changes"][0];
    assert_eq!(change["route_changes"], 1);
    assert_eq!(change["packs"], serde_json::json!([]));
    assert_eq!(change["stack_sha256"], h.gw.live().fingerprints().stack);

    let page = get(run.addr, "/").await.text();
    assert!(
        page.contains("data-figure=\"policy_changes\">1<"),
        "the page counts the change"
    );
    assert!(page.contains("1 route change(s)"));
    for text in [&page, &stats.text()] {
        assert!(
            !text.contains("records/people"),
            "a route reached the public"
        );
        assert_nothing_private("the public page", text);
    }
    run.stop().await;
    h.stop().await;
}
