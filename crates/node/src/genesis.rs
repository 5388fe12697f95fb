//! The genesis file: the chain's id, its validators and its opening accounts. It is the one
//! file every validator must agree on byte for byte; its hash names the chain's first block.

use std::path::Path;

use civitas_execution::accounts::GenesisAccount;
use civitas_execution::orgs::GenesisOrganization;
use civitas_types::org::{ORG_FUNCTIONS_MAX, OrgFunction, OrgKind, org_name_ok};
use civitas_types::{Amount, Did, PublicKey, Role, limits};
use serde::{Deserialize, Serialize};

/// Why a genesis file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// It could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// It is not valid genesis JSON.
    #[error("genesis is not valid: {0}")]
    Json(#[from] serde_json::Error),
    /// A field has a bad value.
    #[error("genesis field `{field}`: {why}")]
    Field {
        /// The field.
        field: String,
        /// What is wrong.
        why: String,
    },
}

/// A validator as named in genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    /// The department that runs it.
    pub name: String,
    /// Its consensus key, hex.
    pub public_key: String,
    /// Its p2p address (`host:port`); needed when more than one validator runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

impl GenesisValidator {
    /// The validator of department `name` with consensus key `key`, at `address` (needed when
    /// more than one validator runs).
    pub fn new(name: impl Into<String>, key: &PublicKey, address: Option<std::net::SocketAddr>) -> GenesisValidator {
        GenesisValidator { name: name.into(), public_key: key.to_hex(), address: address.map(|a| a.to_string()) }
    }
}

impl GenesisAccountJson {
    /// A plain opening account: `balance`, no roles, not an organization.
    pub fn new(name: impl Into<String>, key: &PublicKey, balance: Amount) -> GenesisAccountJson {
        GenesisAccountJson {
            name: name.into(),
            public_key: key.to_hex(),
            balance: balance.to_string(),
            roles: vec![],
            organization: None,
        }
    }
}

/// An opening account as named in genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccountJson {
    /// Who it belongs to, for people.
    pub name: String,
    /// Its key, hex.
    pub public_key: String,
    /// Its opening balance in minor units, as a decimal string (JSON numbers lose precision).
    pub balance: String,
    /// Its roles, by name.
    #[serde(default)]
    pub roles: Vec<String>,
    /// If the account is an organization (a department, say): its kind and functions. Its name
    /// is the account's `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<GenesisOrgJson>,
}

/// An organization in genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisOrgJson {
    /// `department`, `company`, `manufacturer`, `payment_provider` or `employer`.
    pub kind: String,
    /// What a department does: `market_regulation`, `tax`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<String>,
}

/// The genesis file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// The chain's id; every transaction names it.
    pub chain_id: String,
    /// The genesis block's timestamp.
    pub genesis_time_ms: u64,
    /// The validators.
    pub validators: Vec<GenesisValidator>,
    /// The opening accounts.
    pub accounts: Vec<GenesisAccountJson>,
    /// The council: member departments (by account name) and how many approvals a proposal
    /// needs. No council: nothing the council decides can happen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub council: Option<GenesisCouncilJson>,
}

/// The council in genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisCouncilJson {
    /// The member departments: names of genesis accounts that are departments.
    pub members: Vec<String>,
    /// Approvals a proposal needs (1 to the number of members).
    pub threshold: u32,
}

fn field(field: &str, why: impl Into<String>) -> GenesisError {
    GenesisError::Field { field: field.to_owned(), why: why.into() }
}

impl Genesis {
    /// Reads and validates a genesis file.
    pub fn load(path: &Path) -> Result<Genesis, GenesisError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| GenesisError::Io { path: path.display().to_string(), source })?;
        let genesis: Genesis = serde_json::from_str(&text)?;
        genesis.validate()?;
        Ok(genesis)
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("genesis always serializes")
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), GenesisError> {
        if self.chain_id.is_empty() || self.chain_id.len() > limits::CHAIN_ID_BYTES_MAX {
            return Err(field("chain_id", format!("must be 1 to {} bytes", limits::CHAIN_ID_BYTES_MAX)));
        }
        if self.validators.is_empty() {
            return Err(field("validators", "at least one validator is needed"));
        }
        self.validator_set()?;
        self.accounts()?;
        self.organizations()?;
        self.council()?;
        Ok(())
    }

    /// The council's member DIDs and threshold (none without a council).
    pub fn council(&self) -> Result<(Vec<Did>, u32), GenesisError> {
        let Some(c) = &self.council else { return Ok((vec![], 0)) };
        if c.members.is_empty() || c.members.len() > civitas_types::council::COUNCIL_MAX {
            return Err(field("council.members", "1 to 32 member departments"));
        }
        let orgs = self.organizations()?;
        let mut members = Vec::with_capacity(c.members.len());
        for (i, name) in c.members.iter().enumerate() {
            let account = self.accounts.iter().find(|a| a.name == *name);
            let org = account.and_then(|a| orgs.iter().find(|o| o.name == a.name && o.kind == OrgKind::Department));
            let Some(org) = org else {
                return Err(field(&format!("council.members[{i}]"), format!("`{name}` is not a genesis department")));
            };
            if members.contains(&org.did) {
                return Err(field(&format!("council.members[{i}]"), format!("`{name}` is listed twice")));
            }
            members.push(org.did);
        }
        if c.threshold == 0 || c.threshold as usize > members.len() {
            return Err(field("council.threshold", "between 1 and the number of members"));
        }
        Ok((members, c.threshold))
    }

    /// The organizations among the opening accounts, parsed.
    pub fn organizations(&self) -> Result<Vec<GenesisOrganization>, GenesisError> {
        let mut out = Vec::new();
        for (i, a) in self.accounts.iter().enumerate() {
            let Some(o) = &a.organization else { continue };
            let at = |f: &str| format!("accounts[{i}].organization.{f}");
            let kind =
                OrgKind::from_name(&o.kind).ok_or_else(|| field(&at("kind"), format!("unknown kind `{}`", o.kind)))?;
            if o.functions.len() > ORG_FUNCTIONS_MAX {
                return Err(field(&at("functions"), "too many functions"));
            }
            let functions = o
                .functions
                .iter()
                .map(|f| {
                    OrgFunction::from_name(f).ok_or_else(|| field(&at("functions"), format!("unknown function `{f}`")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if !org_name_ok(&a.name) {
                return Err(field(&format!("accounts[{i}].name"), "an organization's name is 1 to 128 bytes"));
            }
            let key = PublicKey::from_hex(&a.public_key)
                .map_err(|e| field(&format!("accounts[{i}].public_key"), e.to_string()))?;
            out.push(GenesisOrganization { did: Did::from_initial_key(&key), kind, name: a.name.clone(), functions });
        }
        Ok(out)
    }

    /// The validators' keys, in genesis order.
    pub fn validator_keys(&self) -> Result<Vec<PublicKey>, GenesisError> {
        self.validators
            .iter()
            .enumerate()
            .map(|(i, v)| {
                PublicKey::from_hex(&v.public_key)
                    .map_err(|e| field(&format!("validators[{i}].public_key"), e.to_string()))
            })
            .collect()
    }

    /// The genesis validator set (epoch 0): keys, addresses (empty where none is given) and
    /// departments.
    pub fn validator_set(&self) -> Result<civitas_types::validators::ValidatorSet, GenesisError> {
        let keys = self.validator_keys()?;
        let mut validators = Vec::with_capacity(keys.len());
        for (i, (v, key)) in self.validators.iter().zip(keys).enumerate() {
            let address = v.address.clone().unwrap_or_default();
            if !address.is_empty() && !civitas_types::validators::address_ok(&address) {
                return Err(field(&format!("validators[{i}].address"), "must be host:port with an IP address"));
            }
            if v.name.is_empty() || v.name.len() > civitas_types::validators::VALIDATOR_NAME_BYTES_MAX {
                return Err(field(&format!("validators[{i}].name"), "1 to 128 bytes"));
            }
            if validators.iter().any(|o: &civitas_types::validators::Validator| o.key == key) {
                return Err(field(&format!("validators[{i}].public_key"), "listed twice"));
            }
            validators.push(civitas_types::validators::Validator { key, address, name: v.name.clone() });
        }
        if validators.len() > civitas_types::validators::VALIDATORS_MAX {
            return Err(field("validators", "at most 64"));
        }
        Ok(civitas_types::validators::ValidatorSet { epoch: 0, from_height: 1, validators })
    }

    /// The committee: each validator's key and p2p address. Fails if one has no address.
    pub fn committee(&self) -> Result<Vec<(PublicKey, std::net::SocketAddr)>, GenesisError> {
        let keys = self.validator_keys()?;
        self.validators
            .iter()
            .zip(keys)
            .enumerate()
            .map(|(i, (v, key))| {
                let address = v.address.as_deref().ok_or_else(|| {
                    field(&format!("validators[{i}].address"), "needed to run more than one validator")
                })?;
                let address = address
                    .parse()
                    .map_err(|_| field(&format!("validators[{i}].address"), "must be host:port with an IP address"))?;
                Ok((key, address))
            })
            .collect()
    }

    /// The opening accounts, parsed.
    pub fn accounts(&self) -> Result<Vec<GenesisAccount>, GenesisError> {
        self.accounts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let public_key = PublicKey::from_hex(&a.public_key)
                    .map_err(|e| field(&format!("accounts[{i}].public_key"), e.to_string()))?;
                let balance: Amount = a
                    .balance
                    .parse()
                    .map_err(|_| field(&format!("accounts[{i}].balance"), "must be a decimal integer"))?;
                let roles = a
                    .roles
                    .iter()
                    .map(|r| {
                        Role::from_name(r)
                            .ok_or_else(|| field(&format!("accounts[{i}].roles"), format!("unknown role `{r}`")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if roles.len() > limits::ROLES_MAX {
                    return Err(field(&format!("accounts[{i}].roles"), "too many roles"));
                }
                Ok(GenesisAccount { public_key, balance, roles })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn genesis() -> Genesis {
        Genesis {
            chain_id: "civitas-test".into(),
            genesis_time_ms: 1,
            validators: vec![GenesisValidator { name: "v".into(), public_key: hex::encode([1u8; 32]), address: None }],
            accounts: vec![GenesisAccountJson {
                name: "a".into(),
                public_key: hex::encode([2u8; 32]),
                balance: "10".into(),
                roles: vec!["finance".into()],
                organization: None,
            }],
            council: None,
        }
    }

    #[test]
    fn bad_fields_are_named() {
        let check = |edit: &dyn Fn(&mut Genesis), expected: &str| {
            let mut g = genesis();
            edit(&mut g);
            let err = g.validate().expect_err("invalid").to_string();
            assert!(err.contains(expected), "{err}");
        };
        check(&|g| g.chain_id.clear(), "chain_id");
        check(&|g| g.validators.clear(), "validators");
        check(&|g| g.accounts[0].balance = "-1".into(), "accounts[0].balance");
        check(&|g| g.accounts[0].roles = vec!["king".into()], "unknown role `king`");
        check(&|g| g.validators[0].public_key = "xyz".into(), "validators[0].public_key");
        check(&|g| g.validators[0].address = Some("city-hall:9000".into()), "validators[0].address");
        check(&|g| g.validators[0].name.clear(), "validators[0].name");
        check(&|g| g.validators.push(g.validators[0].clone()), "validators[1].public_key");
        assert!(genesis().validate().is_ok());
        // A committee needs every validator's p2p address, as IP:port.
        let committee_err = |address: Option<&str>| {
            let mut g = genesis();
            g.validators[0].address = address.map(str::to_owned);
            g.committee().map(|c| c.len()).map_err(|e| e.to_string())
        };
        assert!(committee_err(None).expect_err("no address").contains("validators[0].address"));
        assert!(committee_err(Some("city-hall:9000")).expect_err("not an IP").contains("host:port with an IP"));
        assert_eq!(committee_err(Some("127.0.0.1:9000")), Ok(1));
        assert!(serde_json::from_str::<Genesis>(r#"{"chain_id":"x","surprise":1}"#).is_err());
    }

    #[test]
    fn bad_organizations_and_councils_are_named() {
        let department = |functions: Vec<&str>| {
            Some(GenesisOrgJson {
                kind: "department".into(),
                functions: functions.into_iter().map(String::from).collect(),
            })
        };
        let check = |edit: &dyn Fn(&mut Genesis), expected: &str| {
            let mut g = genesis();
            g.accounts[0].organization = department(vec!["tax"]);
            edit(&mut g);
            let err = g.validate().expect_err("invalid").to_string();
            assert!(err.contains(expected), "{err}");
        };
        let council = |members: &[&str], threshold: u32| {
            Some(GenesisCouncilJson { members: members.iter().map(|m| (*m).to_owned()).collect(), threshold })
        };
        check(
            &|g| g.accounts[0].organization = Some(GenesisOrgJson { kind: "guild".into(), functions: vec![] }),
            "unknown kind `guild`",
        );
        check(&|g| g.accounts[0].organization = department(vec!["magic"]), "unknown function `magic`");
        check(&|g| g.council = council(&["nobody"], 1), "`nobody` is not a genesis department");
        check(&|g| g.council = council(&["a", "a"], 1), "listed twice");
        check(&|g| g.council = council(&["a"], 2), "council.threshold");
        check(&|g| g.council = council(&[], 1), "council.members");
        let mut g = genesis();
        g.accounts[0].organization = department(vec!["tax"]);
        g.council = council(&["a"], 1);
        assert_eq!(g.council().expect("valid").1, 1);
    }
}
