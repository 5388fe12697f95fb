//! Organizations: departments, companies, manufacturers, payment providers and employers act
//! through officials. An organization is identified by its account's DID.

mod instruction;
pub use instruction::OrgInstruction;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes};
use crate::did::Did;

/// Longest organization name, in bytes.
pub const ORG_NAME_BYTES_MAX: usize = 128;
/// Most functions one organization has.
pub const ORG_FUNCTIONS_MAX: usize = 4;

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $tag:literal, $text:literal;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant,)*
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The stable name.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// The value with this name.
            pub fn from_name(name: &str) -> Option<$name> {
                match name {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl Encode for $name {
            fn encode_to(&self, out: &mut Vec<u8>) {
                out.push(match self {
                    $($name::$variant => $tag,)*
                });
            }
        }

        impl Decode for $name {
            fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                match r.u8($what)? {
                    $($tag => Ok($name::$variant),)*
                    tag => Err(DecodeError::UnknownTag { what: $what, tag }),
                }
            }
        }
    };
}

named_enum!(
    /// What kind of organization.
    OrgKind, "organization kind" {
        /// A city department (registered by the council).
        Department = 0, "department";
        /// A company (registered by the market-regulation department).
        Company = 1, "company";
        /// A device manufacturer (registered by the council).
        Manufacturer = 2, "manufacturer";
        /// A payment provider (registered by the council).
        PaymentProvider = 3, "payment_provider";
        /// An employer that reimburses expenses (registered by the market-regulation department).
        Employer = 4, "employer";
    }
);

named_enum!(
    /// An official's role in an organization.
    OrgRole, "organization role" {
        /// Manages the organization's officials.
        Admin = 0, "admin";
        /// Acts for the organization.
        Officer = 1, "officer";
    }
);

named_enum!(
    /// What a department does in the city's processes.
    OrgFunction, "organization function" {
        /// Registers companies and employers.
        MarketRegulation = 0, "market_regulation";
        /// Registers merchants; sees all invoices.
        Tax = 1, "tax";
        /// Certifies device model versions (a certification body).
        Certification = 2, "certification";
        /// Certifies properties (issues property certificates); leases are filed with it and it
        /// decides rental disputes.
        Housing = 3, "housing";
        /// Runs transport statistics: defines the rounds operators report to.
        Transport = 4, "transport";
    }
);

/// An organization's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Its kind.
    pub kind: OrgKind,
    /// Its name, for people.
    pub name: String,
    /// Its functions (departments only).
    pub functions: Vec<OrgFunction>,
    /// The height it was registered at (0: genesis).
    pub registered_height: u64,
    /// The organization that registered it (none at genesis).
    pub registered_by: Option<Did>,
}

impl Encode for Organization {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.kind.encode_to(out);
        put_bytes(out, self.name.as_bytes());
        crate::codec::put_seq(out, &self.functions);
        out.extend_from_slice(&self.registered_height.to_be_bytes());
        match &self.registered_by {
            None => out.push(0),
            Some(d) => {
                out.push(1);
                d.encode_to(out);
            }
        }
    }
}

impl Decode for Organization {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Organization {
            kind: OrgKind::decode_from(r)?,
            name: r.string(ORG_NAME_BYTES_MAX, "organization name")?,
            functions: r.seq(ORG_FUNCTIONS_MAX, "functions", OrgFunction::decode_from)?,
            registered_height: r.u64("registered height")?,
            registered_by: match r.u8("registered by")? {
                0 => None,
                1 => Some(Did::decode_from(r)?),
                tag => return Err(DecodeError::UnknownTag { what: "registered by", tag }),
            },
        })
    }
}

/// Whether `name` is a usable organization name: 1-128 bytes, no control characters.
pub fn org_name_ok(name: &str) -> bool {
    !name.trim().is_empty() && name.len() <= ORG_NAME_BYTES_MAX && !name.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretKey;

    #[test]
    fn organizations_round_trip_and_names_are_stable() {
        let org = Organization {
            kind: OrgKind::Department,
            name: "Market Regulation".into(),
            functions: vec![OrgFunction::MarketRegulation],
            registered_height: 0,
            registered_by: Some(Did::from_initial_key(&SecretKey::from_seed([1; 32]).public_key())),
        };
        assert_eq!(Organization::decode(&org.encode()).expect("decodes"), org);
        for k in OrgKind::ALL {
            assert_eq!(OrgKind::from_name(k.name()), Some(*k));
        }
        assert_eq!(OrgRole::from_name("janitor"), None);
        assert!(!org_name_ok("") && !org_name_ok("a\nb") && org_name_ok("Tax Bureau"));
        assert!(Organization::decode(&[9]).is_err());
    }
}
