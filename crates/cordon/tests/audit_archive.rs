//! `cordon audit archive`: successive, overlapping, edited portal windows served by a
//! local HTTP server, kept in a Cordon log, then audited with `--format cordon`.
//!
//! The windows are reconstructions of a Flock transparency portal's Public Search Audit
//! (LAW-AND-FACTS §3; layout as the public sm-alpr project's build_audit_log.py reads it):
//! `"id","userId","searchDate","networkCount","reason"`, ISO 8601 times, `userId` masked
//! as `***`, embedded in the portal page as a `data:text/csv` link; since December 2025
//! some portals give `"caseNumber","offenseType"` in place of `reason`. Ids and reasons
//! are invented.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
mod common;
use base64::Engine as _;
use common::*;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

type Pages = Arc<Mutex<HashMap<String, (String, Vec<u8>)>>>;

/// A one-thread HTTP/1.1 server on loopback answering GETs from `pages`; stops on drop.
struct Server {
    addr: String,
    pages: Pages,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let pages: Pages = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (pages.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        conn.set_nonblocking(false).unwrap();
                        answer(&mut conn, &p);
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
        });
        Server {
            addr,
            pages,
            stop,
            thread: Some(thread),
        }
    }

    fn serve(&self, path: &str, content_type: &str, body: Vec<u8>) {
        self.pages
            .lock()
            .unwrap()
            .insert(path.into(), (content_type.into(), body));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(conn: &mut std::net::TcpStream, pages: &Pages) {
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&req);
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let found = pages.lock().unwrap().get(&path).cloned();
    let (status, ctype, body) = match found {
        Some((c, b)) => ("200 OK", c, b),
        None => ("404 Not Found", "text/plain".into(), b"not found".to_vec()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(&body);
}

const PORTAL_HEADER: &str = r#""id","userId","searchDate","networkCount","reason""#;

fn portal_row(id: &str, date: &str, networks: u32, reason: &str) -> String {
    format!(r#""{id}","***","{date}","{networks}","{reason}""#)
}

/// A portal page with its audit CSV embedded as a base64 data URI.
fn portal_page(rows: &[String]) -> Vec<u8> {
    let csv = format!("{PORTAL_HEADER}\n{}\n", rows.join("\n"));
    let b64 = base64::engine::general_purpose::STANDARD.encode(csv);
    format!(
        "<!DOCTYPE html><html><head><title>Example PD Transparency Portal</title></head><body>\
         <h2>Public Search Audit</h2><a download=\"search-audit.csv\" href=\"data:text/csv;base64,{b64}\">Download</a>\
         </body></html>"
    )
    .into_bytes()
}

fn a() -> String {
    portal_row(
        "3c1f9a60-0a01",
        "2026-03-10T04:31:52.901Z",
        1243,
        "ICE assist",
    )
}
fn b() -> String {
    portal_row(
        "3c1f9a60-0a02",
        "2026-03-11T16:02:11.017Z",
        87,
        "Stolen vehicle",
    )
}
fn c(reason: &str) -> String {
    portal_row("3c1f9a60-0a03", "2026-03-12T09:45:00.250Z", 1243, reason)
}
fn d() -> String {
    portal_row(
        "3c1f9a60-0a04",
        "2026-04-02T22:10:43.800Z",
        12,
        "investigation",
    )
}

fn archive(src: &str, log: &Path) -> serde_json::Value {
    let o = run(
        &[
            "audit",
            "archive",
            src,
            "--log",
            log.to_str().unwrap(),
            "--org",
            "Example CA PD",
            "--json",
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Every entry of the verified archive, as JSON.
fn entries(log: &Path, vkey: &str) -> Vec<serde_json::Value> {
    let v = cordon_log::Verifier::parse(vkey).unwrap();
    let size = cordon_audit::logread::verified_size(log, &v).unwrap();
    (0..size.div_ceil(256))
        .flat_map(|t| cordon_audit::logread::bundle_entries(log, size, t).unwrap())
        .map(|e| serde_json::from_slice(&e).unwrap())
        .collect()
}

fn counts(r: &serde_json::Value) -> [u64; 4] {
    ["rows", "new", "edited", "unchanged"].map(|k| r[k].as_u64().unwrap())
}

#[test]
fn searches_that_fall_off_the_window_stay_and_edits_are_kept_beside_the_original() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("archive");
    let o = run(
        &[
            "log",
            "init",
            log.to_str().unwrap(),
            "--origin",
            "example.org/flock-archive",
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    let vkey = String::from_utf8(o.stdout).unwrap().trim().to_string();
    let server = Server::start();
    let page = format!("{}/portal/example-ca-pd", server.addr);

    server.serve(
        "/portal/example-ca-pd",
        "text/html",
        portal_page(&[a(), b(), c("HSI immigration case")]),
    );
    assert_eq!(counts(&archive(&page, &log)), [3, 3, 0, 0]);

    // A month on: A fell off the window, C's reason was stripped, D is new.
    server.serve(
        "/portal/example-ca-pd",
        "text/html",
        portal_page(&[b(), c("***"), d()]),
    );
    assert_eq!(counts(&archive(&page, &log)), [3, 1, 1, 1]);
    // Scheduled again with nothing new: nothing written.
    let again = archive(&page, &log);
    assert_eq!(counts(&again), [3, 0, 0, 3]);
    assert_eq!(again["log_size"], 5);

    // The CSV URL, in the structured-reason layout: D comes back reshaped, E is new.
    let structured = "\"id\",\"userId\",\"searchDate\",\"networkCount\",\"caseNumber\",\"offenseType\"\n\
        \"3c1f9a60-0a04\",\"***\",\"2026-04-02T22:10:43.800Z\",\"12\",\"26-4410\",\"Burglary\"\n\
        \"3c1f9a60-0a05\",\"***\",\"2026-04-03T01:00:00.000Z\",\"3\",\"\",\"Immigration Violation\"\n";
    server.serve("/audit.csv", "text/csv", structured.as_bytes().to_vec());
    let r = archive(&format!("{}/audit.csv", server.addr), &log);
    assert_eq!(counts(&r), [2, 1, 1, 0]);
    assert_eq!(r["searches_archived"], 5);
    drop(server);

    let all = entries(&log, &vkey);
    assert_eq!(all.len(), 7);
    let first_seen_of_c = all[2]["first_seen"].clone();
    let edit_of_c = all
        .iter()
        .find(|e| e["id"] == "3c1f9a60-0a03" && e["change"] == "edited")
        .unwrap();
    assert_eq!(edit_of_c["changed"], serde_json::json!(["reason"]));
    assert_eq!(
        edit_of_c["first_seen"], first_seen_of_c,
        "an edit keeps when the search was first seen"
    );
    assert_eq!(edit_of_c["row"]["reason"], "***");
    assert_eq!(edit_of_c["source"], page.as_str());
    let edit_of_d = all
        .iter()
        .find(|e| e["id"] == "3c1f9a60-0a04" && e["change"] == "edited")
        .unwrap();
    assert_eq!(
        edit_of_d["changed"],
        serde_json::json!(["caseNumber", "offenseType", "reason"])
    );
    assert_eq!(all[0]["search"]["org"], "Example CA PD");

    // The archive audits like any export: A, gone from every later window, is still found.
    let out = tmp.path().join("out");
    let o = run(
        &[
            "audit",
            log.to_str().unwrap(),
            "--format",
            "cordon",
            "--vkey",
            &vkey,
            "--out",
            out.to_str().unwrap(),
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["rows"], 7, "{s}");
    let flagged = std::fs::read_to_string(out.join("flagged.csv")).unwrap();
    for id in ["3c1f9a60-0a01", "3c1f9a60-0a03", "3c1f9a60-0a05"] {
        assert!(flagged.contains(id), "{id} not flagged: {flagged}");
    }
    assert!(!flagged.contains("3c1f9a60-0a02"), "{flagged}");
}

#[test]
fn a_page_with_no_embedded_audit_is_refused_with_a_reason_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("archive");
    let o = run(
        &[
            "log",
            "init",
            log.to_str().unwrap(),
            "--origin",
            "example.org/a",
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    let server = Server::start();
    server.serve(
        "/p",
        "text/html",
        b"<html><body>Portal without an audit</body></html>".to_vec(),
    );
    let url = format!("{}/p", server.addr);
    let o = run(
        &["audit", "archive", &url, "--log", log.to_str().unwrap()],
        b"",
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no audit CSV in it"),
        "{}",
        text(&o)
    );
    let o = run(
        &[
            "audit",
            "archive",
            &format!("{}/missing", server.addr),
            "--log",
            log.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("404"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_saved_export_file_without_ids_is_archived_by_whole_row() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("archive");
    let o = run(
        &[
            "log",
            "init",
            log.to_str().unwrap(),
            "--origin",
            "example.org/a",
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    let file = tmp.path().join("export.csv");
    std::fs::write(
        &file,
        "Org Name,Search Time,Reason\nExample CA PD,\"03/10/2026, 04:31:52 AM UTC\",theft\nExample CA PD,\"03/10/2026, 05:00:00 AM UTC\",ICE\n",
    )
    .unwrap();
    let r = archive(file.to_str().unwrap(), &log);
    assert_eq!(counts(&r), [2, 2, 0, 0]);
    assert_eq!(r["without_id"], 2);
    assert_eq!(counts(&archive(file.to_str().unwrap(), &log)), [2, 0, 0, 2]);
}
