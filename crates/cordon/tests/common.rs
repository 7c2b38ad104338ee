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

/// One `cordon audit` run: its process output and the three files it wrote.
pub struct Audit {
    pub out: std::process::Output,
    pub summary: serde_json::Value,
    pub report: String,
    pub flagged: Vec<csv::StringRecord>,
    pub flagged_header: csv::StringRecord,
    pub _dir: tempfile::TempDir,
}

/// Runs `cordon audit FILES... EXTRA... --out DIR` and reads what it wrote.
pub fn audit(files: &[&Path], extra: &[&str]) -> Audit {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let mut args = vec!["audit".to_string()];
    args.extend(files.iter().map(|f| f.to_str().unwrap().to_string()));
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["--out".to_string(), out_dir.to_str().unwrap().to_string()]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&argv, b"");
    let summary = std::fs::read(out_dir.join("summary.json"))
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or(serde_json::Value::Null);
    let report = std::fs::read_to_string(out_dir.join("report.html")).unwrap_or_default();
    let flagged_text = std::fs::read_to_string(out_dir.join("flagged.csv")).unwrap_or_default();
    let mut r = csv::Reader::from_reader(flagged_text.as_bytes());
    let flagged_header = r.headers().cloned().unwrap_or_default();
    let flagged = r.records().map(Result::unwrap).collect();
    Audit {
        out,
        summary,
        report,
        flagged,
        flagged_header,
        _dir: dir,
    }
}

impl Audit {
    pub fn flagged_col(&self, name: &str) -> Vec<String> {
        let i = self
            .flagged_header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.flagged_header));
        self.flagged.iter().map(|r| r[i].to_string()).collect()
    }

    /// The report's text before its first section heading after the title.
    pub fn first_lines(&self) -> &str {
        let start = self.report.find("<h1>").unwrap();
        let end = self.report[start..].find("<h2>").unwrap() + start;
        &self.report[start..end]
    }
}
