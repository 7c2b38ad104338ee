//! The federal request register: every detainer, warrant and request for assistance a
//! jurisdiction receives, the policy pack's answer (decline or comply, with the law), what
//! became of the person, and corrections, each a log entry; and the reports the law
//! requires (Illinois TRUST Act 5 ILCS 805/25, Chicago MCC 2-173 quarterly), rebuilt from
//! the verified log.
#![forbid(unsafe_code)]

pub mod authority;
pub mod csv;
pub mod entry;
pub mod error;
pub mod html;
pub mod model;
pub mod period;
pub mod read;
pub mod registrar;
pub mod report;
pub mod totals;
pub mod view;
pub mod when;

pub use authority::{AuthorityBook, AuthorityRegistration, Unmatched, VerifiedAuthority};
pub use entry::{is_register_entry, Recorder, RegisterEntry, Step, REGISTER_VERSION};
pub use error::RegisterError;
pub use model::{Conviction, Correction, FederalRequest, Outcome, OutcomeResult, Transferee};
pub use period::Period;
pub use read::{entry_of_open_log, follow_authorities, read_authorities, read_register, LogFacts};
pub use registrar::{Prepared, Registrar};
pub use report::{Report, ReportKind};
pub use totals::Totals;
pub use view::{Register, RequestView};
pub use when::When;
