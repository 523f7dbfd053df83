//! Parsed domain values. Constructors validate; past them data is known to be valid
//! ("parse, don't validate"). Each failure is a [`FieldError`] naming the offending field.

mod email;
mod external_id;
mod field_error;
mod name;
mod traits;

pub use email::Email;
pub use external_id::ExternalId;
pub use field_error::FieldError;
pub use name::RecordName;
pub use traits::{TraitKey, TraitPatch, Traits, merge_traits};
