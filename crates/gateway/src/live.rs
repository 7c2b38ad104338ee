//! The part of a running gateway that a reload replaces: the packs, the routes and what is
//! derived from them. A request takes one snapshot when it starts and decides, routes and
//! records fingerprints from that snapshot alone, so no decision mixes two policies.
use crate::config::{Config, Route};
use crate::fingerprint::Fingerprints;
use crate::identity::Authenticator;
use crate::routes::Router;
use crate::GatewayError;
use cordon_policy::Stack;

/// One consistent policy: packs, routes, their hashes and the register's stack.
pub struct Live {
    pub(crate) pack: Stack,
    pub(crate) router: Router,
    pub(crate) routes: Vec<Route>,
    pub(crate) fingerprints: Fingerprints,
    /// Each pack's name and `sha256:` hash, in stack order, taken when it was loaded (the
    /// files may have changed on disk since).
    pub(crate) pack_hashes: Vec<(String, String)>,
    /// Answers federal requests when `[register]` is configured.
    pub(crate) registrar: Option<cordon_register::Registrar>,
}

impl Live {
    /// Loads the packs the config names and checks them against the routes and the
    /// configured identities: a typo would otherwise deny everyone silently.
    pub(crate) fn load(config: &Config, auth: &Authenticator) -> Result<Live, GatewayError> {
        // One configured pack means the stack its pack.json names (Chicago's includes the
        // TRUST Act and 2-130); `packs` lists a stack explicitly.
        let pack = match &config.pack {
            Some(home) => Stack::home(home)?,
            None => Stack::load(&config.packs)?,
        };
        crate::check_agencies(&pack, auth, config)?;
        let registrar = match &config.register {
            Some(_) => Some(cordon_register::Registrar::new(
                cordon_policy::RequestStack::of(&pack)?,
                "gateway",
            )),
            None => None,
        };
        let pack_hashes = pack
            .packs()
            .iter()
            .map(|p| Ok((p.name().to_owned(), cordon_policy::pack_hash(p)?)))
            .collect::<Result<_, cordon_policy::PolicyError>>()?;
        Ok(Live {
            pack_hashes,
            fingerprints: Fingerprints::new(&pack, &config.routes),
            router: Router::new(&config.routes),
            routes: config.routes.clone(),
            registrar,
            pack,
        })
    }

    /// The packs in force, in the order they are enforced.
    pub fn pack(&self) -> &Stack {
        &self.pack
    }

    /// The hashes recorded with each decision made under this policy.
    pub fn fingerprints(&self) -> &Fingerprints {
        &self.fingerprints
    }

    /// The routes in force.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }
}
