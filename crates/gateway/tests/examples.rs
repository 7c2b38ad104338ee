//! The example configs in examples/ parse, pass the config checks, and name datasets and
//! agencies the Chicago stack knows.
#![allow(clippy::unwrap_used)]
use cordon_gateway::config::Config;
use std::path::Path;

#[test]
fn the_example_configs_are_valid() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for name in ["cordon-dev.toml", "cordon.toml"] {
        let c = Config::load(&examples.join(name)).unwrap();
        let pack = match &c.pack {
            Some(home) => cordon_policy::Stack::home(home).unwrap(),
            None => cordon_policy::Stack::load(&c.packs).unwrap(),
        };
        for r in &c.routes {
            assert!(
                pack.datasets().kind_of(&r.dataset).is_some(),
                "{name}: {}",
                r.dataset
            );
        }
        for a in c
            .identity
            .api_keys
            .iter()
            .map(|k| &k.agency)
            .chain(c.identity.certificates.iter().map(|k| &k.agency))
        {
            assert!(pack.registry().agency(a).is_some(), "{name}: {a}");
        }
    }
}

#[test]
fn api_keys_without_dev_mode_are_refused_at_startup() {
    let text = r#"listen = "127.0.0.1:0"
pack = "p"
[log]
dir = "l"
key = "k"
[[identity.api_keys]]
key = "k1"
principal = "p"
agency = "cpd"
"#;
    let err = Config::from_toml(text, Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(err.contains("dev_mode"), "{err}");
}
