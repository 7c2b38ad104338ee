//! The attacks of THREAT-MODEL.md's clients as one list of requests, so the same cases
//! run over every protocol the gateway speaks and must get the same answers and the same
//! log entries. Each case names the status it must get.
#![allow(dead_code)]
use super::{CPD, ICE, PROXY_SECRET};

pub struct Case {
    pub name: &'static str,
    pub method: &'static str,
    pub target: &'static str,
    pub headers: Vec<(&'static str, &'static str)>,
    pub body: &'static [u8],
    pub expect: u16,
}

fn cpd(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut v = CPD.to_vec();
    v.extend_from_slice(extra);
    v
}

fn case(
    name: &'static str,
    target: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    expect: u16,
) -> Case {
    Case {
        name,
        method: "GET",
        target,
        headers,
        body: b"",
        expect,
    }
}

/// Headers a client may send to claim another identity, address, method or URL: the
/// decision ignores them and none reaches the upstream.
pub const SPOOFED: [(&str, &str); 12] = [
    ("Cordon-Principal", "ice-ero-officer-12"),
    ("Cordon-Agency", "ice-ero"),
    ("Cordon-Receipt", "999"),
    ("X-Forwarded-User", "chief"),
    ("X-Forwarded-For", "10.9.9.9"),
    ("X-Forwarded-Uri", "/records/people/P-1002"),
    ("X-Original-URI", "/records/people/P-1002"),
    ("Forwarded", "for=1.1.1.1"),
    ("X-Real-IP", "1.1.1.1"),
    ("X-HTTP-Method-Override", "DELETE"),
    ("X-Rewrite-URL", "/records/people/P-1002"),
    ("Cookie", "session=another-officer"),
];

/// Every case, in the order they are sent.
pub fn all() -> Vec<Case> {
    let mut cases = vec![
        case("lawful search", "/alpr/plates/FAKE123", CPD.to_vec(), 200),
        case(
            "query in any order is decided canonically",
            "/alpr/plates/FAKE123?until=2026-12-01&limit=5&since=2026-11-01T00:00:00Z",
            CPD.to_vec(),
            200,
        ),
        case(
            "a collection path naming a record is decided as that record",
            "/records/people?id=P-1001",
            CPD.to_vec(),
            200,
        ),
        case(
            "person record, redacted",
            "/records/people/P-1001",
            CPD.to_vec(),
            200,
        ),
        case(
            "a Range on a redacted record gets the whole redacted body",
            "/records/people/P-1001",
            cpd(&[("Range", "bytes=72-98"), ("If-Range", "\"151\"")]),
            200,
        ),
        case(
            "validators of the unredacted body are not passed on",
            "/records/people/P-1001",
            cpd(&[("If-None-Match", "\"260\""), ("If-Match", "*")]),
            200,
        ),
        case(
            "spoofed identity, address, method and URL headers",
            "/alpr/plates/FAKE123",
            cpd(&SPOOFED),
            200,
        ),
        case(
            "an immigration agent is denied",
            "/records/people/P-1001",
            ICE.to_vec(),
            403,
        ),
        case(
            "an immigration agent is denied in upper case",
            "/RECORDS/people/P-1001",
            ICE.to_vec(),
            403,
        ),
        case(
            "no credential",
            "/records/people/P-1001?fields=all",
            vec![("Cordon-Purpose", "x")],
            401,
        ),
        case(
            "the purpose twice in two cases",
            "/alpr/plates/FAKE123",
            vec![
                ("Authorization", "Bearer demo-cpd"),
                ("Cordon-Purpose", "criminal_investigation"),
                ("cordon-PURPOSE", "civil_immigration_enforcement"),
                ("Cordon-Reason", "burglary"),
            ],
            400,
        ),
        case(
            "a second reason",
            "/alpr/plates/FAKE123",
            cpd(&[("Cordon-Reason", "assist ICE")]),
            400,
        ),
        case(
            "two credentials",
            "/alpr/plates/FAKE123",
            cpd(&[("Authorization", "Bearer demo-ice")]),
            400,
        ),
        case(
            "a head over the budget",
            "/alpr/plates/FAKE123",
            cpd(&[("X-Pad", long())]),
            431,
        ),
        case(
            "forward-auth from the proxy",
            "/_cordon/auth",
            cpd(&[
                ("Cordon-Proxy-Secret", PROXY_SECRET),
                ("X-Original-URI", "/alpr/plates/FAKE123?limit=5"),
                ("X-Original-Method", "GET"),
            ]),
            200,
        ),
        case(
            "forward-auth steered with another dialect's headers",
            "/_cordon/auth",
            cpd(&[
                ("Cordon-Proxy-Secret", PROXY_SECRET),
                ("X-Original-URI", "/admin/export-all"),
                ("X-Original-Method", "DELETE"),
                ("X-Forwarded-Uri", "/alpr/plates/FAKE123"),
                ("X-Forwarded-Method", "GET"),
            ]),
            403,
        ),
        case(
            "forward-auth without the proxy's secret",
            "/_cordon/auth",
            cpd(&[
                ("X-Original-URI", "/alpr/plates/FAKE123"),
                ("X-Original-Method", "GET"),
            ]),
            401,
        ),
    ];
    for target in [
        "/records/people/P-1001?id=P-1002&fields=all",
        "/records/people/P-1001?id=P-1002",
        "/records/people/P-1001?fields=all",
        "/records/people?id=P-1001&id=P-1002",
        "/records/people?id=P-1001&%69d=P-1002",
        "/records/people?ID=P-1002",
        "/alpr/plates/FAKE123?limit=100000",
        "/alpr/plates/FAKE123?since=yesterday",
    ] {
        cases.push(case(
            "an extra or unbound query parameter",
            target,
            CPD.to_vec(),
            400,
        ));
    }
    for (target, expect) in PATH_TRICKS {
        cases.push(case("a path trick", target, CPD.to_vec(), *expect));
    }
    cases.push(Case {
        name: "a method the route does not take",
        method: "DELETE",
        target: "/records/people/P-1001",
        headers: CPD.to_vec(),
        body: b"",
        expect: 405,
    });
    cases.push(Case {
        name: "a body on a read",
        method: "GET",
        target: "/records/people/P-1001",
        headers: CPD.to_vec(),
        body: b"id=P-1002&x",
        expect: 400,
    });
    cases.push(Case {
        name: "a body over max_body_bytes",
        method: "GET",
        target: "/records/people/P-1001",
        headers: CPD.to_vec(),
        body: &[b'x'; 5000],
        expect: 413,
    });
    cases.push(Case {
        name: "HEAD of a redacted record",
        method: "HEAD",
        target: "/records/people/P-1001",
        headers: CPD.to_vec(),
        body: b"",
        expect: 200,
    });
    cases
}

/// Paths that try to reach another record or route than the one they seem to name: each
/// is refused, or decided and served as the one record it normalizes to.
pub const PATH_TRICKS: &[(&str, u16)] = &[
    ("/records/people/%2e%2e/P-1002", 400),
    ("/records/people/P-1001/../P-1002", 400),
    ("/records/people/P-1001%2F..%2FP-1002", 400),
    ("//records/./people/P-1001", 200),
    ("/records//people/P-1001", 200),
    ("/alpr/plates/..", 400),
    ("/records/people/P-1001%00", 400),
    ("/records/people/%C0%AE%C0%AE/P-1002", 400),
    ("/records/people/P%2D1001", 200),
    ("/admin/export-all", 404),
];

/// A header value that takes the head past its 16 KiB budget (and stays within HTTP/2's
/// header list limit, so the gateway's own 431 answers on both protocols).
fn long() -> &'static str {
    static LONG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LONG.get_or_init(|| "x".repeat(17 * 1024))
}
