//! Helpers shared by the command-line tests: run `cordon`, make logs.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn cordon() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cordon"))
}

pub fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = cordon()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the cordon binary runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A new log with `entries` lines appended; returns its directory and verifier key text.
pub fn make_log(parent: &Path, name: &str, entries: usize) -> (PathBuf, String) {
    let dir = parent.join(name);
    let d = dir.to_str().unwrap();
    let o = run(&["log", "init", d, "--origin", "test.example/log"], b"");
    assert!(o.status.success(), "{}", text(&o));
    let vkey = String::from_utf8(o.stdout).unwrap().trim().to_string();
    append(&dir, 0..entries);
    (dir, vkey)
}

pub fn append(dir: &Path, range: std::ops::Range<usize>) {
    let input: String = range.map(|i| format!("entry {i}\n")).collect();
    let o = run(&["log", "append", dir.to_str().unwrap()], input.as_bytes());
    assert!(o.status.success(), "{}", text(&o));
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// Runs Debian's Chromium headless (or `CORDON_CHROMIUM`) with a fresh profile and the
/// flags that keep it off the network.
pub fn chromium(args: &[&str], profile: &Path) -> Output {
    let bin = std::env::var("CORDON_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    Command::new(&bin)
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
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("running {bin}: {e}; install it with `apt-get install chromium` (.ci/run does)")
        })
}

/// The page as Chromium parsed it.
pub fn dump_dom(html: &Path, profile: &Path) -> String {
    let url = format!("file://{}", html.display());
    let o = chromium(&["--dump-dom", &url], profile);
    assert!(
        o.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// The number in the element carrying `data-figure="key"`, as the browser parsed it
/// (thousands separators dropped).
pub fn shown_figure(dom: &str, key: &str) -> Option<u64> {
    let at = dom.find(&format!("data-figure=\"{key}\""))?;
    let rest = &dom[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    rest[start..end].replace(',', "").trim().parse().ok()
}
