//! The authorities records staff registered, as the gateway honours them: a typed
//! `Cordon-Authority` opens a door only when a registration in the log covers the agency,
//! the record and the day; otherwise it is decided as opening nothing, and the refusal says
//! why. The book is read from the verified log when the gateway opens and then follows
//! the log's checkpoints, so a registration or revocation recorded by any writer of the
//! log counts from the moment it is integrated.
use crate::logbackend::GatewayLog;
use crate::GatewayError;
use cordon_policy::Authority;
use cordon_register::{follow_authorities, read_authorities, AuthorityBook, Unmatched, When};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long opening waits for the log to integrate what recovery found, so the book read
/// at start covers every durable entry.
const OPEN_WAIT: Duration = Duration::from_secs(30);

/// How often a failed read of new bundles is retried: the integrator may replace a partial
/// bundle between the checkpoint and the read.
const READ_TRIES: u32 = 3;

struct Followed {
    book: AuthorityBook,
    /// Entries `0..scanned` are in the book.
    scanned: u64,
}

/// The registered authorities, kept current with the log.
pub struct Authorities {
    followed: Mutex<Followed>,
}

/// What a request's typed authority came to.
pub struct Resolved {
    /// What the policy decides on: the registered document, or what was typed with no
    /// court, no matter and no registration.
    pub authority: Authority,
    /// Why a typed authority opened nothing; `None` when none was typed or one matched.
    pub unmatched: Option<Unmatched>,
}

impl Authorities {
    /// Reads every registration and revocation in the log, after verifying all of it.
    pub fn load(
        log: &GatewayLog,
        verifier: &cordon_log::Verifier,
    ) -> Result<Authorities, GatewayError> {
        // A revocation recovery found in the write-ahead log must be read before the first
        // decision, so wait for the integrator to cover every durable entry.
        let durable = log.durable_size();
        if durable > 0 {
            log.wait_checkpoint(durable, OPEN_WAIT).map_err(|e| {
                GatewayError::Registry(format!(
                    "the log did not integrate its {durable} durable entries within {OPEN_WAIT:?} ({e}), so the registered authorities cannot be read: start again, or check the log with `cordon log verify`"
                ))
            })?;
        }
        // An empty log registers nothing; a shared (PostgreSQL) log's tile folder may not
        // hold even the empty checkpoint until its first integration round.
        if log.checkpoint().checkpoint.size == 0 {
            return Ok(Authorities {
                followed: Mutex::new(Followed {
                    book: AuthorityBook::default(),
                    scanned: 0,
                }),
            });
        }
        let (book, facts) = read_authorities(log.root(), verifier).map_err(|e| {
            GatewayError::Registry(format!(
                "the registered authorities cannot be read from the log {}: {e} (check the log with `cordon log verify`)",
                log.root().display()
            ))
        })?;
        Ok(Authorities {
            followed: Mutex::new(Followed {
                book,
                scanned: facts.size,
            }),
        })
    }

    /// The book brought up to the log, read on a blocking thread and returned as a copy:
    /// the catch-up reads the log's files and may retry, all under the book's lock, and
    /// none of that may hold a serving thread's event loop (and every connection on it)
    /// while the disk is slow. Past `limit` it gives up, which honours nothing, so a
    /// stalled disk becomes a refusal within a bound, never a hang.
    pub async fn read_book(
        self: &Arc<Self>,
        log: &Arc<GatewayLog>,
        limit: Duration,
    ) -> Result<AuthorityBook, String> {
        let (me, log) = (self.clone(), log.clone());
        let read = tokio::task::spawn_blocking(move || me.catch_up(&log).and_then(|()| me.book()));
        match tokio::time::timeout(limit, read).await {
            Ok(Ok(book)) => book,
            Ok(Err(e)) => Err(format!("reading the registered authorities stopped: {e}")),
            Err(_) => Err(format!(
                "the registered authorities could not be read within {} ms",
                limit.as_millis()
            )),
        }
    }

    /// Reads the entries integrated since the last call; what is already read is skipped.
    pub fn catch_up(&self, log: &GatewayLog) -> Result<(), String> {
        let mut tries = 0;
        loop {
            match self.try_catch_up(log) {
                Ok(()) => return Ok(()),
                Err(e) if tries + 1 >= READ_TRIES => return Err(e),
                Err(_) => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }

    fn try_catch_up(&self, log: &GatewayLog) -> Result<(), String> {
        let size = log.checkpoint().checkpoint.size;
        // Read under the lock: only what is new since the last call, and only when a
        // request presents an authority or staff record one.
        let mut followed = self.lock()?;
        let from = followed.scanned;
        if size <= from {
            return Ok(());
        }
        follow_authorities(&mut followed.book, log.root(), size, from)
            .map_err(|e| e.to_string())?;
        followed.scanned = size;
        Ok(())
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Followed>, String> {
        self.followed
            .lock()
            .map_err(|_| "the authority book was poisoned by an earlier failure".to_owned())
    }

    /// The registrations so far, for a revocation to check what it names.
    pub fn book(&self) -> Result<AuthorityBook, String> {
        Ok(self.lock()?.book.clone())
    }

    /// What `typed` comes to for `agency` reading `record` today, in `book` as
    /// [`Authorities::read_book`] read it; when it could not be read, nothing is honoured,
    /// since a revocation could have been missed.
    pub fn resolve(
        book: &Result<AuthorityBook, String>,
        typed: &Authority,
        agency: &str,
        record: &str,
    ) -> Resolved {
        let presented = typed.kind != cordon_policy::AuthorityKind::None
            || typed
                .reference
                .as_deref()
                .is_some_and(|r| !r.trim().is_empty());
        if !presented {
            return Resolved {
                authority: AuthorityBook::default().authority_for(
                    typed,
                    agency,
                    record,
                    When::today(),
                ),
                unmatched: None,
            };
        }
        match book {
            Ok(book) => {
                let (authority, unmatched) = book.resolve(typed, agency, record, When::today());
                Resolved {
                    authority,
                    unmatched,
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the registered authorities; honouring none");
                Resolved {
                    authority: AuthorityBook::default().authority_for(
                        typed,
                        agency,
                        record,
                        When::today(),
                    ),
                    unmatched: Some(Unmatched::RegisterUnavailable),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> Authorities {
        Authorities {
            followed: Mutex::new(Followed {
                book: AuthorityBook::default(),
                scanned: 0,
            }),
        }
    }

    #[test]
    fn a_presented_authority_is_not_honoured_when_the_register_could_not_be_read() {
        let typed = Authority {
            kind: cordon_policy::AuthorityKind::parse("judicial_warrant"),
            reference: Some("24-CR-1187".into()),
            ..Authority::default()
        };
        let unreadable = Err("the disk failed".to_owned());
        let r = Authorities::resolve(&unreadable, &typed, "cpd", "/alpr/plates/FAKE123");
        assert_eq!(r.unmatched, Some(Unmatched::RegisterUnavailable));
        assert_eq!(
            r.authority.court,
            cordon_policy::Court::default(),
            "nothing vouched for"
        );
        let book = empty().book();
        assert!(book.is_ok());
        let r = Authorities::resolve(&book, &typed, "cpd", "/alpr/plates/FAKE123");
        assert_ne!(r.unmatched, Some(Unmatched::RegisterUnavailable));
    }

    #[tokio::test]
    // Holding the book's lock across the read is the stall under test.
    #[allow(clippy::await_holding_lock)]
    async fn a_register_read_that_cannot_finish_is_given_up_within_its_limit() {
        let tmp = tempfile::tempdir().unwrap();
        let signer = cordon_log::Signer::generate("test.example/log").unwrap();
        cordon_log::create(tmp.path(), &signer).unwrap();
        let log = cordon_log::Log::open(tmp.path(), signer, cordon_log::LogConfig::default())
            .unwrap()
            .0;
        let log = Arc::new(GatewayLog::File(log));
        let book = Arc::new(empty());
        // As a catch-up stuck on a stalled disk holds it.
        let held = book.lock().unwrap();
        let limit = Duration::from_millis(200);
        let read = tokio::time::timeout(Duration::from_secs(10), book.read_book(&log, limit))
            .await
            .expect("the read waited for the stalled catch-up instead of giving up");
        let e = read.unwrap_err();
        assert!(e.contains("could not be read within 200 ms"), "{e}");
        drop(held);
    }
}
