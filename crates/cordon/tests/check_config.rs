//! `cordon serve --check-config`: a usable config passes without touching the log; a
//! broken one fails with every problem listed, each naming the setting or file to fix.
#![allow(clippy::unwrap_used)]

mod common;
mod gateway_common;

use common::{run, text};
use gateway_common::{chicago_pack, write_proxy_secret, DEV_IDENTITIES_AND_ROUTES};

fn config(dir: &std::path::Path, head: &str, tail: &str) -> std::path::PathBuf {
    let path = dir.join("gateway.toml");
    std::fs::write(&path, format!("{head}\n{DEV_IDENTITIES_AND_ROUTES}{tail}")).unwrap();
    path
}

fn check(path: &std::path::Path) -> std::process::Output {
    run(
        &[
            "serve",
            "--check-config",
            "--config",
            path.to_str().unwrap(),
        ],
        b"",
    )
}

#[test]
fn a_usable_config_passes_and_opens_no_log() {
    let tmp = tempfile::tempdir().unwrap();
    write_proxy_secret(tmp.path());
    let signer = cordon_log::Signer::generate("test.example/check").unwrap();
    std::fs::write(tmp.path().join("log.key"), signer.to_text()).unwrap();
    let head = format!(
        "listen = \"127.0.0.1:1\"\nupstream = \"http://127.0.0.1:9\"\npack = \"{}\"\n[log]\ndir = \"log\"\nkey = \"log.key\"",
        chicago_pack().display()
    );
    let o = check(&config(tmp.path(), &head, ""));
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        !tmp.path().join("log").exists(),
        "checking a config created the log"
    );
}

#[test]
fn a_broken_config_lists_every_problem_and_fails() {
    let tmp = tempfile::tempdir().unwrap();
    // No proxy secret file, no log key, a pack that is not there, an https upstream with
    // a path, TLS files that do not exist, and a route whose query binds nothing.
    let head = "listen = \"127.0.0.1:1\"\nupstream = \"http://127.0.0.1:9/api\"\npack = \"no-such-pack\"\n\
                [log]\ndir = \"missing/deeper/log\"\nkey = \"log.key\"\n\
                [tls]\ncert = \"server.pem\"\nkey = \"server.key\"\ncrls = [\"ca.crl\"]";
    let tail = "[routes.query]\nlimit = { bind = \"limit\" }\n";
    let o = check(&config(tmp.path(), head, tail));
    let said = text(&o);
    assert_eq!(o.status.code(), Some(1), "{said}");
    for expected in [
        "tls.crls",        // revocation lists without a client CA
        "limit",           // a limit with no maximum
        "no-such-pack",    // the pack folder
        "log.key",         // the signing key file
        "missing/deeper",  // the log folder's parent
        "proxy.secret",    // the forward-auth secret file
        "127.0.0.1:9/api", // the upstream URL
        "server.pem",      // the TLS certificate
    ] {
        assert!(
            said.contains(expected),
            "the problem with {expected} is not listed:\n{said}"
        );
    }
    assert!(
        !said.contains("panicked") && !said.contains("RUST_BACKTRACE"),
        "{said}"
    );
}

#[test]
fn an_unparsable_config_is_one_problem_naming_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("gateway.toml");
    std::fs::write(&path, "listen = \n").unwrap();
    let o = check(&path);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("line 1"), "{}", text(&o));
}

#[test]
fn a_key_of_another_log_and_zero_limits_are_problems_before_the_start() {
    let tmp = tempfile::tempdir().unwrap();
    write_proxy_secret(tmp.path());
    // A log made with one key, and a config naming another.
    let o = run(
        &[
            "log",
            "init",
            tmp.path().join("log").to_str().unwrap(),
            "--origin",
            "test.example/check",
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    let other = cordon_log::Signer::generate("test.example/check").unwrap();
    std::fs::write(tmp.path().join("other.key"), other.to_text()).unwrap();
    let head = format!(
        "listen = \"127.0.0.1:1\"\nupstream = \"http://127.0.0.1:9\"\npack = \"{}\"\nheader_timeout_ms = 0\nmax_response_bytes = 0\n[log]\ndir = \"log\"\nkey = \"other.key\"\ndurable_deadline_ms = 0\ncommit_delay_us = 500",
        chicago_pack().display()
    );
    let o = check(&config(tmp.path(), &head, ""));
    let said = text(&o);
    assert_eq!(o.status.code(), Some(1), "{said}");
    for expected in [
        "log.key is not the key of the log",
        "header_timeout_ms",
        "max_response_bytes",
        "log.durable_deadline_ms",
        "log.commit_delay_us",
    ] {
        assert!(said.contains(expected), "{expected} is not listed:\n{said}");
    }
}

#[test]
fn routes_that_could_never_be_reached_are_problems() {
    let tmp = tempfile::tempdir().unwrap();
    write_proxy_secret(tmp.path());
    let signer = cordon_log::Signer::generate("test.example/check").unwrap();
    std::fs::write(tmp.path().join("log.key"), signer.to_text()).unwrap();
    let head = format!(
        "listen = \"127.0.0.1:1\"\nupstream = \"http://127.0.0.1:9\"\npack = \"{}\"\n[log]\ndir = \"log\"\nkey = \"log.key\"",
        chicago_pack().display()
    );
    for (tail, says) in [
        (
            "[[routes]]\nprefix = \"/alpr/plates\"\ndataset = \"alpr\"\naction = \"search\"\n",
            "configured twice",
        ),
        (
            "[[routes]]\nprefix = \"/_cordon/auth\"\ndataset = \"alpr\"\naction = \"search\"\n",
            "overlaps forward_auth.path",
        ),
        // The router ignores case and empty segments, so the checks must too.
        (
            "[[routes]]\nprefix = \"/ALPR//Plates\"\ndataset = \"alpr\"\naction = \"search\"\n",
            "configured twice",
        ),
        (
            "[[routes]]\nprefix = \"/_Cordon/AUTH\"\ndataset = \"alpr\"\naction = \"search\"\n",
            "overlaps forward_auth.path",
        ),
        (
            "[[routes]]\nprefix = \"/healthz\"\ndataset = \"alpr\"\naction = \"search\"\n",
            "overlaps the health check",
        ),
    ] {
        let o = check(&config(tmp.path(), &head, tail));
        let said = text(&o);
        assert_eq!(o.status.code(), Some(1), "{said}");
        assert!(said.contains(says), "{says} is not listed:\n{said}");
    }
}
