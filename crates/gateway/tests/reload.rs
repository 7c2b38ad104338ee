//! Reloading packs and routes while serving: the change is logged before it applies, open
//! connections keep working, and a reload that cannot be applied or logged changes nothing.
#![allow(clippy::unwrap_used)]
mod common;
use bytes::Bytes;
use common::{entries, Harness, CPD, DEV_IDENTITY};
use cordon_gateway::config::Config;
use cordon_gateway::entry::Entry;
use cordon_gateway::reload::{ReloadError, Reloaded};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::path::Path;

/// A copy of the shipped packs the test may edit, and a gateway enforcing it.
async fn start_with_own_packs() -> Harness {
    Harness::start_tweaked(
        DEV_IDENTITY,
        "",
        "nginx",
        |dir| copy_dir(&common::pack_dir().join(".."), &dir.join("policies")),
        |c| {
            c.pack = Some(
                c.log
                    .dir
                    .parent()
                    .unwrap()
                    .join("policies/chicago-welcoming-city"),
            )
        },
    )
    .await
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// One keep-alive connection to the gateway.
async fn connect(h: &Harness) -> SendRequest<Empty<Bytes>> {
    let stream = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    send
}

async fn get(send: &mut SendRequest<Empty<Bytes>>, path: &str) -> (u16, String) {
    send.ready().await.expect("the connection was closed");
    let mut req = hyper::Request::get(path).header("host", "cordon.test");
    for (k, v) in CPD {
        req = req.header(k, v);
    }
    let resp = send
        .send_request(req.body(Empty::new()).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn reloads(all: &[Entry]) -> Vec<(String, Vec<String>)> {
    all.iter()
        .filter_map(|e| match e {
            Entry::Reload {
                stack_sha256,
                changed,
                ..
            } => Some((stack_sha256.clone(), changed.clone())),
            _ => None,
        })
        .collect()
}

/// The stack hash each decision of the log was made under, in log order.
fn decided_under(all: &[Entry]) -> Vec<String> {
    all.iter()
        .filter_map(|e| match e {
            Entry::Decision(d) => d.stack_sha256.clone(),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_route_removed_on_reload_stops_serving_on_the_same_connection_and_is_logged() {
    let h = Harness::start().await;
    let mut conn = connect(&h).await;
    assert_eq!(get(&mut conn, "/records/people/P-1001").await.0, 200);

    let mut config: Config = h.gw.config().clone();
    config.routes.retain(|r| r.prefix != "/records/people");
    let Reloaded::Applied { index, changed } = h.gw.reload(&config).await.unwrap() else {
        panic!("a removed route is a change");
    };
    assert_eq!(changed, ["route /records/people removed"]);

    // The same connection, not a new one: a reload drops nothing.
    let (status, body) = get(&mut conn, "/records/people/P-1001").await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("/alpr/plates"), "{body}");
    assert_eq!(get(&mut conn, "/alpr/plates/FAKE123").await.0, 200);

    let (dir, verifier, _) = h.stop().await;
    let all = entries(&dir.path().join("log"), &verifier);
    assert!(matches!(all[index as usize], Entry::Reload { .. }));
    assert_eq!(reloads(&all).len(), 1);
}

#[tokio::test]
async fn a_pack_edited_to_stop_permitting_a_purpose_denies_the_next_request_and_names_both_hashes()
{
    let h = start_with_own_packs().await;
    let mut conn = connect(&h).await;
    assert_eq!(get(&mut conn, "/alpr/plates/FAKE123").await.0, 200);

    let pack = h.dir.path().join("policies/chicago-welcoming-city");
    let access = pack.join("access.cedar");
    let text = std::fs::read_to_string(&access).unwrap();
    let narrowed = text.replacen("context.purpose == \"criminal_investigation\" ||", "", 1);
    assert_ne!(text, narrowed, "the test's edit must change the pack");
    std::fs::write(&access, narrowed).unwrap();
    let before = h.gw.live().fingerprints().stack.clone();

    let config = h.gw.config().clone();
    let Reloaded::Applied { changed, .. } = h.gw.reload(&config).await.unwrap() else {
        panic!("an edited pack is a change");
    };
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(
        changed[0].starts_with("pack chicago-welcoming-city: sha256:")
            && changed[0].contains(" → sha256:"),
        "{changed:?}"
    );
    let after = h.gw.live().fingerprints().stack.clone();
    assert_ne!(before, after);

    let (status, body) = get(&mut conn, "/alpr/plates/FAKE123").await;
    assert_eq!(status, 403, "{body}");

    let (dir, verifier, _) = h.stop().await;
    let all = entries(&dir.path().join("log"), &verifier);
    assert_eq!(reloads(&all), [(after.clone(), changed)]);
    // Each decision names the policy it was made under: the old before, the new after.
    assert_eq!(decided_under(&all), [before, after]);
}

#[tokio::test]
async fn a_reload_with_nothing_changed_writes_nothing() {
    let h = Harness::start().await;
    let config = h.gw.config().clone();
    assert_eq!(h.gw.reload(&config).await.unwrap(), Reloaded::Unchanged);
    let (dir, verifier, _) = h.stop().await;
    assert!(entries(&dir.path().join("log"), &verifier).is_empty());
}

#[tokio::test]
async fn a_reload_that_cannot_apply_keeps_the_policy_in_force_and_logs_nothing() {
    let h = start_with_own_packs().await;
    let mut conn = connect(&h).await;
    let stack = h.gw.live().fingerprints().stack.clone();

    // A setting only a restart can change.
    let mut moved = h.gw.config().clone();
    moved.listen = "127.0.0.1:1".parse().unwrap();
    moved.routes.pop();
    match h.gw.reload(&moved).await {
        Err(ReloadError::RestartOnly(keys)) => assert_eq!(keys, ["listen"]),
        other => panic!("a new listener was reloaded: {other:?}"),
    }

    // A route to a dataset no pack governs.
    let mut unknown = h.gw.config().clone();
    unknown.routes[0].dataset = "no-such-dataset".into();
    let err = h.gw.reload(&unknown).await.unwrap_err();
    assert!(err.to_string().contains("no-such-dataset"), "{err}");

    // A pack that no longer parses.
    let access = h
        .dir
        .path()
        .join("policies/chicago-welcoming-city/access.cedar");
    let text = std::fs::read_to_string(&access).unwrap();
    std::fs::write(
        &access,
        format!("{text}\npermit (principal, action, resource) when {{"),
    )
    .unwrap();
    let config = h.gw.config().clone();
    match h.gw.reload(&config).await {
        // The operator is told which file and what is wrong, not only "policy pack".
        Err(ReloadError::Invalid(why)) => assert!(why.contains("access.cedar"), "{why}"),
        other => panic!("a pack that does not parse was reloaded: {other:?}"),
    }

    assert_eq!(h.gw.live().fingerprints().stack, stack);
    assert_eq!(get(&mut conn, "/records/people/P-1001").await.0, 200);
    let metrics = h.metrics().await.text();
    assert!(
        metrics.contains("cordon_reloads_total{outcome=\"refused\"} 3"),
        "{metrics}"
    );
    let (dir, verifier, _) = h.stop().await;
    let all = entries(&dir.path().join("log"), &verifier);
    assert!(reloads(&all).is_empty(), "{all:?}");
}

#[tokio::test]
async fn a_reload_the_log_cannot_take_does_not_apply() {
    let h = Harness::start().await;
    let mut config = h.gw.config().clone();
    config.routes.retain(|r| r.prefix != "/records/people");
    h.faults.fail_writes(true);
    let err = h.gw.reload(&config).await.unwrap_err();
    h.faults.fail_writes(false);
    assert!(matches!(err, ReloadError::Log(_)), "{err}");
    // The route the unlogged reload would have removed is still served.
    let mut conn = connect(&h).await;
    assert_eq!(get(&mut conn, "/records/people/P-1001").await.0, 200);
    assert_eq!(h.gw.live().routes().len(), 2);
    h.stop().await;
}

#[tokio::test]
async fn a_named_pipe_in_a_pack_refuses_the_reload_and_requests_are_still_answered() {
    let h = start_with_own_packs().await;
    let fifo = h
        .dir
        .path()
        .join("policies/chicago-welcoming-city/evil.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let config = h.gw.config().clone();
    let reload = tokio::time::timeout(std::time::Duration::from_secs(10), h.gw.reload(&config))
        .await
        .expect("the reload hung on a named pipe");
    match reload {
        Err(ReloadError::Invalid(why)) => assert!(why.contains("evil.fifo"), "{why}"),
        other => panic!("a pack holding a pipe was reloaded: {other:?}"),
    }
    let mut conn = connect(&h).await;
    assert_eq!(get(&mut conn, "/records/people/P-1001").await.0, 200);
    h.stop().await;
}
