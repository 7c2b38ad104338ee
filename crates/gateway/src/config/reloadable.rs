//! Which parts of the config a reload may change: the packs and the routes. Everything
//! else (listeners, keys, identities, the log, the upstream) is bound at start, so a reload
//! that changes it is refused by name instead of half applied.
use super::Config;

impl Config {
    /// The top-level keys whose values differ from `other`'s and that only a restart can
    /// apply. Destructuring every field means a new config key does not compile until it
    /// is declared reloadable or not here.
    pub fn restart_only_changes(&self, other: &Config) -> Vec<&'static str> {
        let Config {
            listen,
            workers,
            trusted_proxies,
            upstream,
            pack: _,
            packs: _,
            forward_auth,
            forward_auth_path,
            public_log_prefix,
            max_body_bytes,
            max_response_bytes,
            response_window_bytes,
            header_timeout_ms,
            retry_after_seconds,
            log,
            tls,
            http2,
            metrics,
            identity,
            routes: _,
            register,
            public,
            publish,
        } = self;
        let mut changed = Vec::new();
        let mut note = |name: &'static str, same: bool| {
            if !same {
                changed.push(name);
            }
        };
        note("listen", *listen == other.listen);
        note("workers", *workers == other.workers);
        note("trusted_proxies", *trusted_proxies == other.trusted_proxies);
        note("upstream", *upstream == other.upstream);
        note("forward_auth", *forward_auth == other.forward_auth);
        note(
            "forward_auth_path",
            *forward_auth_path == other.forward_auth_path,
        );
        note(
            "public_log_prefix",
            *public_log_prefix == other.public_log_prefix,
        );
        note("max_body_bytes", *max_body_bytes == other.max_body_bytes);
        note(
            "max_response_bytes",
            *max_response_bytes == other.max_response_bytes,
        );
        note(
            "response_window_bytes",
            *response_window_bytes == other.response_window_bytes,
        );
        note(
            "header_timeout_ms",
            *header_timeout_ms == other.header_timeout_ms,
        );
        note(
            "retry_after_seconds",
            *retry_after_seconds == other.retry_after_seconds,
        );
        note("log", *log == other.log);
        note("tls", *tls == other.tls);
        // ALPN is set when the listener is bound.
        note("http2", *http2 == other.http2);
        note("metrics", *metrics == other.metrics);
        note("identity", *identity == other.identity);
        note("register", *register == other.register);
        note("public", *public == other.public);
        note("publish", *publish == other.publish);
        changed
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const BASE: &str = r#"
listen = "127.0.0.1:8080"
pack = "packs/chicago"
[log]
dir = "log"
key = "log.key"
[identity]
dev_mode = true
[[identity.api_keys]]
key = "demo-cpd"
principal = "cpd-detective-0417"
agency = "cpd"
[[routes]]
prefix = "/alpr/plates"
dataset = "alpr"
action = "search"
"#;

    fn parse(text: &str) -> Config {
        Config::from_toml(text, std::path::Path::new("/etc/cordon")).unwrap()
    }

    #[test]
    fn packs_and_routes_may_change_without_a_restart() {
        let before = parse(BASE);
        let after = parse(
            &BASE
                .replace("packs/chicago", "packs/evanston")
                .replace("/alpr/plates", "/alpr/reads"),
        );
        assert!(before.restart_only_changes(&after).is_empty());
    }

    #[test]
    fn a_changed_listener_or_log_key_needs_a_restart() {
        let before = parse(BASE);
        let after = parse(
            &BASE
                .replace("127.0.0.1:8080", "127.0.0.1:9090")
                .replace("log.key", "other.key"),
        );
        assert_eq!(before.restart_only_changes(&after), ["listen", "log"]);
    }

    #[test]
    fn a_changed_number_of_workers_needs_a_restart() {
        let before = parse(BASE);
        let listen = "listen = \"127.0.0.1:8080\"";
        let after = parse(&BASE.replace(listen, &format!("{listen}\nworkers = 3")));
        assert_eq!(before.restart_only_changes(&after), ["workers"]);
    }

    #[test]
    fn workers_must_be_between_one_and_the_limit() {
        let listen = "listen = \"127.0.0.1:8080\"";
        let with = |n: &str| BASE.replace(listen, &format!("{listen}\nworkers = {n}"));
        for bad in ["0", "257"] {
            let e = Config::from_toml(&with(bad), std::path::Path::new("/etc/cordon"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(&format!("workers = {bad}: give between 1 and 256")),
                "{e}"
            );
        }
        assert_eq!(parse(&with("256")).workers(), 256);
        assert_eq!(parse(&with("1")).workers(), 1);
        let cores = std::thread::available_parallelism().unwrap().get();
        assert_eq!(parse(BASE).workers(), cores, "one per core by default");
    }
}
