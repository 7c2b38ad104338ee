//! OIDC/JWT bearer tokens: the algorithm is one the config names (never the token's
//! choice alone), the key is the one its `kid` names and fits that algorithm, and the
//! token is refused when expired, not yet valid (`nbf`) or issued in the future (`iat`),
//! each beyond a small clock leeway.
use crate::config::JwtSection;
use crate::identity::Identity;
use crate::jwks::{Key, Lookup, Source};
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

/// Clock difference tolerated between the identity provider, the client and Cordon.
pub const LEEWAY_SECONDS: u64 = 30;

pub struct JwtVerifier {
    keys: Source,
    algorithms: Vec<Algorithm>,
    issuer: String,
    audience: String,
    agency_claim: String,
}

impl JwtVerifier {
    pub fn new(cfg: &JwtSection) -> Result<Self, crate::jwks::JwksError> {
        // The config check admits only names of asymmetric algorithms.
        let algorithms: Vec<Algorithm> = cfg
            .algorithms
            .iter()
            .filter_map(|a| Algorithm::from_str(a).ok())
            .collect();
        Ok(JwtVerifier {
            keys: Source::new(cfg, &algorithms)?,
            algorithms,
            issuer: cfg.issuer.clone(),
            audience: cfg.audience.clone(),
            agency_claim: cfg.agency_claim.clone(),
        })
    }

    /// Verifies a token; the error says what was wrong, for the 401.
    pub async fn verify(&self, token: &str) -> Result<Identity, String> {
        let alg = self.pinned_algorithm(token)?;
        let header = decode_header(token).map_err(|e| format!("its header is malformed ({e})"))?;
        let kid = header.kid.as_deref();
        let key = self.key(kid).await?;
        if key.alg.is_some_and(|a| a != alg) {
            return Err(format!(
                "its header says {alg:?}, but the key {} is bound to another algorithm",
                kid.unwrap_or("it uses")
            ));
        }
        let mut v = Validation::new(alg);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.validate_nbf = true;
        v.leeway = LEEWAY_SECONDS;
        let data = decode::<HashMap<String, serde_json::Value>>(token, &key.decoding, &v)
            .map_err(|e| self.explain(e.kind()))?;
        not_issued_in_future(&data.claims)?;
        no_claim_twice(token)?;
        if !data
            .claims
            .get("iss")
            .is_some_and(serde_json::Value::is_string)
        {
            return Err("its issuer (iss) is not a single string".into());
        }
        let claim = |name: &str| {
            data.claims
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let principal = claim("sub").ok_or("it has no string `sub` claim")?;
        let agency = claim(&self.agency_claim)
            .ok_or_else(|| format!("it has no string `{}` claim", self.agency_claim))?;
        for (name, value) in [("sub", &principal), (self.agency_claim.as_str(), &agency)] {
            accountable(name, value)?;
        }
        Ok(Identity {
            principal,
            agency,
            method: "jwt",
            app: None,
        })
    }

    /// The token's `alg`, read from its raw header so that `none` or an HMAC algorithm is
    /// named in the refusal, and accepted only if the config lists it.
    fn pinned_algorithm(&self, token: &str) -> Result<Algorithm, String> {
        let malformed = || "its header is malformed (not base64url JSON)".to_owned();
        let head = token.split('.').next().unwrap_or_default();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(head.trim_end_matches('='))
            .map_err(|_| malformed())?;
        let header: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
        // RFC 7515 4.1.11: a token that marks header parameters critical must be refused
        // unless every one is understood, and this gateway understands none.
        if header.get("crit").is_some() {
            return Err(
                "its header marks parameters as critical (crit), which this gateway does not understand"
                    .into(),
            );
        }
        let name = header
            .get("alg")
            .and_then(|a| a.as_str())
            .ok_or("its header names no algorithm (alg)")?;
        match Algorithm::from_str(name) {
            Ok(alg) if self.algorithms.contains(&alg) => Ok(alg),
            _ => Err(format!(
                "its algorithm {name:?} is not one this gateway accepts ({}): ask your identity provider for a token signed with one of them",
                self.allowed()
            )),
        }
    }

    fn allowed(&self) -> String {
        let names: Vec<String> = self.algorithms.iter().map(|a| format!("{a:?}")).collect();
        names.join(", ")
    }

    /// The key `kid` names; a key id not yet known makes a JWKS fetched from a URL be
    /// fetched again (rate-limited), which is how a rotated key becomes known.
    async fn key(&self, kid: Option<&str>) -> Result<Arc<Key>, String> {
        let lookup = match &self.keys {
            Source::File(keys) => keys.lookup(kid),
            Source::Remote(remote) => {
                let (keys, generation) = remote.keys().await?;
                match keys.lookup(kid) {
                    Lookup::NotFound if kid.is_some() => {
                        remote.after_unknown_kid(generation).await?.lookup(kid)
                    }
                    found => found,
                }
            }
        };
        match lookup {
            Lookup::Found(k) => Ok(k),
            Lookup::Unusable(why) => Err(format!(
                "its key {} is not used: {why}",
                kid.unwrap_or("(no kid)")
            )),
            Lookup::NotFound => Err(match kid {
                Some(k) => format!(
                    "its key id (kid) {k:?} is not among the identity provider's keys: get a new token; operators: check identity.jwt's JWKS"
                ),
                None => "it names no key id (kid) and the JWKS does not hold exactly one signature key: get a token that names its key".to_owned(),
            }),
        }
    }

    fn explain(&self, kind: &ErrorKind) -> String {
        match kind {
            ErrorKind::ExpiredSignature => format!(
                "it has expired (exp is past by more than {LEEWAY_SECONDS} s): get a new token"
            ),
            ErrorKind::ImmatureSignature => format!(
                "it is not valid yet (nbf is more than {LEEWAY_SECONDS} s ahead): check the clocks of the identity provider and of this machine"
            ),
            ErrorKind::InvalidIssuer => format!(
                "its issuer (iss) is not {}: get a token from that identity provider",
                self.issuer
            ),
            ErrorKind::InvalidAudience => format!(
                "its audience (aud) is not {}: get a token issued for this gateway",
                self.audience
            ),
            ErrorKind::InvalidSignature => {
                "its signature does not verify with the key its kid names: the token is forged or damaged".to_owned()
            }
            ErrorKind::InvalidAlgorithm => format!(
                "its algorithm does not fit the type of the key its kid names ({})",
                self.allowed()
            ),
            ErrorKind::MissingRequiredClaim(c) => format!("it has no `{c}` claim"),
            other => format!("it cannot be read ({other:?})"),
        }
    }
}

/// A claim that names who searched, or for which agency, must name someone: something
/// visible, and no control, format, separator or private-use character (a line break
/// could forge a line wherever the log is shown line by line; a zero-width or
/// direction-changing character could make one name look like another).
fn accountable(name: &str, value: &str) -> Result<(), String> {
    let edged = value.trim() != value;
    if edged
        || !value.chars().any(|c| !c.is_whitespace() && !hidden(c))
        || value.chars().any(hidden)
    {
        return Err(format!(
            "its `{name}` claim is empty, starts or ends with a space, or holds an invisible or text-reordering character: it names no one unambiguously"
        ));
    }
    Ok(())
}

/// Characters that show nothing, or change how the text around them shows: controls
/// (Cc), format characters that reorder or hide text (bidirectional embeddings, overrides
/// and isolates, word joiners and invisible operators, the byte-order mark, the soft
/// hyphen, interlinear annotation), line and paragraph separators (Zl, Zp), fillers and
/// blanks that render as nothing, variation selectors, tags and private use (Co). The
/// joiners and direction marks that Persian, Indic and mixed right-to-left names need
/// (U+200C to U+200F, U+061C) are allowed.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{ad}' | '\u{34f}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
            | '\u{600}'..='\u{605}' | '\u{6dd}' | '\u{70f}' | '\u{8e2}' | '\u{110bd}' | '\u{110cd}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{2800}' | '\u{3164}' | '\u{feff}' | '\u{ffa0}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e000}'..='\u{f8ff}'
            | '\u{e0000}'..='\u{e0fff}'
            | '\u{f0000}'..='\u{10ffff}')
}

/// A claim given twice (`"agency":"ice-ero","agency":"cpd"`, or once escaped) is read as
/// whichever came last by one parser and first by another: the token is refused.
fn no_claim_twice(token: &str) -> Result<(), String> {
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| "its claims are malformed (not base64url JSON)".to_owned())?;
    serde_json::from_slice::<UniqueKeys>(&bytes)
        .map(|_| ())
        .map_err(|e| format!("its claims are ambiguous ({e})"))
}

/// A JSON object whose top-level keys are all different.
struct UniqueKeys;

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = UniqueKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<UniqueKeys, A::Error> {
                let mut seen = std::collections::HashSet::new();
                while let Some(key) = m.next_key::<String>()? {
                    m.next_value::<serde::de::IgnoredAny>()?;
                    if !seen.insert(key.clone()) {
                        return Err(serde::de::Error::custom(format!(
                            "the claim `{key}` is given twice"
                        )));
                    }
                }
                Ok(UniqueKeys)
            }
        }
        d.deserialize_map(Keys)
    }
}

/// A token whose `iat` lies in the future (beyond the leeway) was not issued by a clock
/// that agrees with ours: refused rather than trusted.
fn not_issued_in_future(claims: &HashMap<String, serde_json::Value>) -> Result<(), String> {
    let Some(iat) = claims.get("iat") else {
        return Ok(());
    };
    let iat = iat
        .as_f64()
        .ok_or("its `iat` claim is not a number of seconds")?;
    let now = jsonwebtoken::get_current_timestamp() as f64;
    if iat > now + LEEWAY_SECONDS as f64 {
        return Err(format!(
            "it was issued in the future (iat is more than {LEEWAY_SECONDS} s ahead): check the clocks of the identity provider and of this machine"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwks::KeySet;

    #[test]
    fn iat_ahead_by_more_than_the_leeway_is_refused() {
        let now = jsonwebtoken::get_current_timestamp();
        let at = |t: u64| HashMap::from([("iat".to_owned(), serde_json::json!(t))]);
        assert!(not_issued_in_future(&at(now + LEEWAY_SECONDS / 2)).is_ok());
        assert!(not_issued_in_future(&at(now + 10 * LEEWAY_SECONDS)).is_err());
        assert!(not_issued_in_future(&HashMap::new()).is_ok());
    }

    #[test]
    fn a_keyset_keeps_why_a_key_is_not_used() {
        let enc = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"e","use":"enc","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
                               {"kty":"oct","kid":"s","k":"c2VjcmV0"}]}"#;
        let set = KeySet::parse(enc, &[Algorithm::EdDSA]).unwrap();
        assert!(matches!(set.lookup(Some("e")), Lookup::Unusable(w) if w.contains("use=enc")));
        assert!(matches!(set.lookup(Some("s")), Lookup::Unusable(w) if w.contains("oct")));
        assert!(matches!(set.lookup(None), Lookup::NotFound));
    }
}
