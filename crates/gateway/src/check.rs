//! `cordon serve --check-config`: every problem with a config and the files it names, found
//! without opening the log (a running gateway holds its lock) or binding a port, so an
//! operator or a systemd `ExecStartPre=` can check a change before it is started.
use std::path::Path;

use crate::config::Config;
use crate::{check_agencies, identity, ops, read_proxy_secret, read_signer, tls, upstream};
use cordon_policy::Stack;

/// What is wrong, one line each; empty when the config would start.
pub fn check_config(path: &Path) -> Vec<String> {
    let config = match Config::read_unchecked(path) {
        Ok(c) => c,
        // Unparsable TOML: nothing more can be read from it.
        Err(e) => return vec![e.to_string()],
    };
    let mut problems = config.problems();
    let mut note = |r: Result<(), String>| {
        if let Err(e) = r {
            problems.push(e);
        }
    };
    let stack = match &config.pack {
        Some(home) => Stack::home(home),
        None => Stack::load(&config.packs),
    };
    let proxies = config
        .forward_auth
        .as_ref()
        .map_or(&[][..], |f| &f.proxy_certificates[..]);
    let auth = identity::Authenticator::new(&config.identity, proxies);
    if let Err(e) = &stack {
        note(Err(format!("packs: {e}")));
    }
    if let Err(e) = &auth {
        note(Err(format!("identity: {e}")));
    }
    if let (Ok(stack), Ok(auth)) = (&stack, &auth) {
        note(check_agencies(stack, auth, &config).map_err(text));
    }
    match read_signer(&config.log.key) {
        Ok(signer) => note(key_belongs_to_log(&signer, &config.log.dir)),
        Err(e) => note(Err(e.to_string())),
    }
    note(log_dir_usable(&config.log.dir));
    if let Some(u) = &config.upstream {
        note(
            upstream::Upstream::new(u, 1)
                .map(drop)
                .map_err(|e| format!("upstream {}: {e}", u.url)),
        );
    }
    if let Some(t) = &config.tls {
        note(
            tls::server_config(t, config.http2.enabled)
                .map(drop)
                .map_err(|e| format!("tls: {e}")),
        );
    }
    note(read_proxy_secret(&config).map(drop).map_err(text));
    note(ops::read_token(&config).map(drop).map_err(text));
    problems
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A log that already exists was made with this key: its recorded verifier key must be
/// the signer's, or the gateway would refuse to open it.
fn key_belongs_to_log(signer: &cordon_log::Signer, dir: &Path) -> Result<(), String> {
    let recorded = dir.join(cordon_log::log::VKEY_FILE);
    match std::fs::read_to_string(&recorded) {
        Ok(text) if text.trim() != signer.verifier().to_text() => Err(format!(
            "log.key is not the key of the log in {}: its verifier key is {}, the key's is {}",
            dir.display(),
            text.trim(),
            signer.verifier().to_text()
        )),
        _ => Ok(()),
    }
}

/// The log folder exists and is a folder, or can be created where it is named.
fn log_dir_usable(dir: &Path) -> Result<(), String> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(format!("log.dir {} is a file, not a folder", dir.display())),
        Err(_) => match dir.parent().map(std::fs::metadata) {
            Some(Ok(m)) if m.is_dir() => Ok(()),
            _ => Err(format!(
                "log.dir {} does not exist, nor does the folder it would be created in",
                dir.display()
            )),
        },
    }
}
