//! Gateway configuration files: never a panic, only a message.
#![no_main]
use cordon_gateway::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Config::from_toml(text, std::path::Path::new("/nonexistent/cordon.toml"));
    }
});
