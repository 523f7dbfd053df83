//! Typed identifiers. Every record kind has its own id type so identifiers cannot be swapped.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered (UUID v7) id.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

typed_id!(
    /// A workspace: one company's production or sandbox data.
    WorkspaceId
);
typed_id!(
    /// An organization: the parent company.
    OrganizationId
);
typed_id!(
    /// An account: a subsidiary, school or subscription under an organization.
    AccountId
);
typed_id!(
    /// A user: a person at a customer.
    UserId
);
typed_id!(
    /// A team member of the workspace (Vitally calls them admins).
    AdminId
);
typed_id!(
    /// A custom trait definition.
    CustomFieldId
);
typed_id!(
    /// An API key.
    ApiKeyId
);
typed_id!(
    /// A custom object: a record type the workspace defines (deals, renewals, contracts).
    CustomObjectId
);
typed_id!(
    /// One record of a custom object, attached to an account and/or an organization.
    CustomObjectInstanceId
);
typed_id!(
    /// A conversation: an e-mail thread (or chat) recorded through the REST API.
    ConversationId
);
typed_id!(
    /// One message of a conversation.
    MessageId
);
