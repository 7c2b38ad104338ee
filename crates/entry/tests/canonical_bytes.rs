//! A decision entry's bytes are exactly what `serde_json` writes for it, though the
//! decision's unchanging part is copied from a per-outcome rendering: on every case of
//! every shipped pack, on decisions rendered before and after, and on decisions changed
//! after their outcome was rendered (a stale rendering must never be written).
use cordon_entry::{DecisionEntry, Refusal, Requester, StackRef, ENTRY_VERSION};
use cordon_policy::{Decision, Stack};
use std::path::PathBuf;

fn packs() -> Vec<PathBuf> {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies"));
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("pack.json").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 3, "packs under {}", root.display());
    dirs
}

fn entry<'a>(stack: &'a Stack, names: &'a [String], d: Option<&'a Decision>) -> DecisionEntry<'a> {
    DecisionEntry {
        v: ENTRY_VERSION,
        kind: "decision",
        time: "2026-12-01T00:00:00.000Z",
        via: "proxy",
        auth: "api_key",
        principal: Requester {
            id: "cpd-detective-0417",
            agency: "cpd",
            app: None,
        },
        client: Some([127, 0, 0, 1].into()),
        method: "GET",
        path: "/alpr/plates/FAKE123",
        query: Some("state=IL"),
        body: None,
        body_sha256: None,
        stack: Some(StackRef {
            packs: names,
            sha256: stack.hash(),
        }),
        routes_sha256: Some("31a4"),
        authority: None,
        request: None,
        decision: d,
        refusal: None,
    }
}

fn assert_canonical(e: &DecisionEntry<'_>, what: &str) {
    let bytes = e.to_bytes().unwrap_or_else(|err| panic!("{what}: {err}"));
    let plain = serde_json::to_vec(e).unwrap_or_else(|err| panic!("{what}: {err}"));
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        String::from_utf8_lossy(&plain),
        "{what}"
    );
}

#[test]
fn every_case_of_every_pack_is_written_as_serde_json_writes_it() {
    let mut written = 0;
    for dir in packs() {
        let stack = Stack::home(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let pack = cordon_policy::Pack::load(&dir).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<String> = stack.packs().iter().map(|p| p.name().to_string()).collect();
        let cases = cordon_policy::cases::load(&pack, &stack).unwrap_or_else(|e| panic!("{e}"));
        // Twice: the first pass renders each outcome, the second copies the renderings.
        for pass in 0..2 {
            for case in &cases {
                let d = stack.decide(&case.request);
                let what = format!("{} pass {pass}: {}", dir.display(), case.name);
                let mut e = entry(&stack, &names, Some(&d));
                e.request = Some(&case.request);
                assert_canonical(&e, &what);
                written += 1;
            }
        }
    }
    assert!(written > 100, "only {written} entries");
}

#[test]
fn a_decision_changed_after_its_outcome_was_rendered_is_written_as_it_now_is() {
    let dir = packs().into_iter().next().unwrap_or_default();
    let stack = Stack::home(&dir).unwrap_or_else(|e| panic!("{e}"));
    let pack = cordon_policy::Pack::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<String> = stack.packs().iter().map(|p| p.name().to_string()).collect();
    let cases = cordon_policy::cases::load(&pack, &stack).unwrap_or_else(|e| panic!("{e}"));
    let case = &cases[0];
    let d = stack.decide(&case.request);
    assert_canonical(&entry(&stack, &names, Some(&d)), "as decided");
    // What the gateway does to a denial whose typed authority the register did not vouch
    // for, and what any later code might do: each change must show in the bytes.
    let changed = |what: &str, change: fn(&mut Decision)| {
        let mut c = d.clone();
        change(&mut c);
        assert_canonical(&entry(&stack, &names, Some(&c)), what);
    };
    changed("explanation added", |c| {
        c.explanation
            .push("The authority presented is not in the register.".into())
    });
    changed("citation added", |c| {
        c.citations.push("a \"quoted\" citation\n".into())
    });
    changed("a problem", |c| {
        c.problems.push("agency \"x\" is not registered".into())
    });
    let mut changed = d.clone();
    changed.screen = stack
        .decide(&cordon_policy::AccessRequest {
            purpose: cordon_policy::Purpose {
                reason: "ICE ERO removal of a fugitive alien".into(),
                ..case.request.purpose.clone()
            },
            ..case.request.clone()
        })
        .screen;
    assert!(
        !changed.screen.flags.is_empty(),
        "the reason was not flagged"
    );
    assert_canonical(&entry(&stack, &names, Some(&changed)), "flagged screening");
    assert_canonical(&entry(&stack, &names, Some(&d)), "as decided, again");
    let mut refused = entry(&stack, &names, Some(&d));
    refused.refusal = Some(Refusal {
        status: 400,
        error: "both a decision and a refusal",
    });
    assert_canonical(&refused, "with a refusal");
    assert_canonical(&entry(&stack, &names, None), "no decision");
}
