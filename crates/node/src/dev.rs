//! The dev chain: a single-validator chain with demo departments and residents, kept in one
//! data directory so it survives restarts.
//!
//! Layout: `DATA_DIR/genesis.json`, `DATA_DIR/keys/<name>.key`, `DATA_DIR/chain/` (the store).

use std::path::{Path, PathBuf};

use civitas_types::{Did, PublicKey, SecretKey, keyfile};

use crate::error::NodeError;
use crate::genesis::{Genesis, GenesisAccountJson, GenesisCouncilJson, GenesisOrgJson, GenesisValidator};

/// The dev chain's id.
pub const DEV_CHAIN_ID: &str = "civitas-dev";

/// The demo accounts: name, opening balance (minor units), roles, and for organizations their
/// kind and functions (`None`: a resident).
type DemoAccount = (&'static str, u128, &'static [&'static str], Option<(&'static str, &'static [&'static str])>);
const DEPARTMENT: &str = "department";
const DEMO_ACCOUNTS: &[DemoAccount] = &[
    ("finance", 1_000_000_000, &["finance"], Some((DEPARTMENT, &[]))),
    ("civil-affairs", 0, &[], Some((DEPARTMENT, &[]))),
    ("market-regulation", 0, &[], Some((DEPARTMENT, &["market_regulation"]))),
    ("housing", 0, &[], Some((DEPARTMENT, &["housing"]))),
    ("tax", 0, &[], Some((DEPARTMENT, &["tax"]))),
    ("public-security", 0, &[], Some((DEPARTMENT, &[]))),
    ("metro-fares", 0, &[], Some(("payment_provider", &[]))),
    ("metro", 0, &[], Some(("company", &[]))),
    ("bus", 0, &[], Some(("company", &[]))),
    ("taxi", 0, &[], Some(("company", &[]))),
    ("acme", 0, &[], Some(("employer", &[]))),
    ("globex", 0, &[], Some(("employer", &[]))),
    ("certification", 0, &[], Some((DEPARTMENT, &["certification"]))),
    ("hoodworks", 0, &[], Some(("manufacturer", &[]))),
    ("flameco", 0, &[], Some(("manufacturer", &[]))),
    ("lockworks", 0, &[], Some(("manufacturer", &[]))),
    ("education", 0, &[], Some((DEPARTMENT, &[]))),
    ("transport", 0, &[], Some((DEPARTMENT, &["transport"]))),
    ("statistics", 0, &[], Some((DEPARTMENT, &[]))),
    ("audit-office", 0, &[], Some((DEPARTMENT, &[]))),
    ("jianye-construction", 0, &[], Some(("company", &[]))),
    ("lianhua-masonry", 0, &[], Some(("company", &[]))),
    ("site-supervision", 0, &[], Some(("company", &[]))),
    ("worker-1", 0, &[], None),
    ("worker-2", 0, &[], None),
    ("worker-3", 0, &[], None),
    ("homehub", 1_000, &[], None),
    ("alice", 10_000, &[], None),
    ("bob", 5_000, &[], None),
];

/// A prepared dev data directory.
pub struct DevChain {
    /// The data directory.
    pub data_dir: PathBuf,
    /// Its genesis.
    pub genesis: Genesis,
    /// The validator's key.
    pub validator: SecretKey,
    /// The demo accounts: name and DID.
    pub accounts: Vec<(String, Did)>,
    /// Whether this run created the chain.
    pub created: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> NodeError + '_ {
    move |source| NodeError::Io { path: path.display().to_string(), source }
}

/// Reads a key file.
pub fn read_key(path: &Path) -> Result<SecretKey, NodeError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    keyfile::parse(&text).map_err(|e| NodeError::KeyFile { path: path.display().to_string(), why: e.to_string() })
}

/// Writes a key file readable by its owner only; refuses to overwrite one.
pub fn write_key(path: &Path, key: &SecretKey) -> Result<(), NodeError> {
    write_secret_file(path, &keyfile::render(key))
}

/// Writes `text` (a key file of any kind) readable by its owner only; refuses to overwrite.
pub fn write_secret_file(path: &Path, text: &str) -> Result<(), NodeError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(io(path))?;
    f.write_all(text.as_bytes()).map_err(io(path))
}

/// The demo council: three departments, two approvals.
pub fn demo_council() -> GenesisCouncilJson {
    GenesisCouncilJson {
        members: vec!["civil-affairs".into(), "market-regulation".into(), "housing".into()],
        threshold: 2,
    }
}

/// Creates a key in `keys_dir` for each demo organization and resident and returns their
/// genesis entries (the finance bureau funded and holding the finance role; the metro fare
/// system a payment provider, the metro, bus and taxi operators companies, acme and globex employers).
pub fn create_demo_accounts(keys_dir: &Path) -> Result<Vec<GenesisAccountJson>, NodeError> {
    std::fs::create_dir_all(keys_dir).map_err(io(keys_dir))?;
    let mut accounts = Vec::new();
    for (name, balance, roles, organization) in DEMO_ACCOUNTS {
        let key = SecretKey::generate();
        write_key(&keys_dir.join(format!("{name}.key")), &key)?;
        accounts.push(GenesisAccountJson {
            name: (*name).to_owned(),
            public_key: key.public_key().to_hex(),
            balance: balance.to_string(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            organization: organization.map(|(kind, functions)| GenesisOrgJson {
                kind: kind.into(),
                functions: functions.iter().map(|f| (*f).to_owned()).collect(),
            }),
        });
    }
    Ok(accounts)
}

/// Opens the dev chain in `data_dir`, creating it (keys and genesis) if it does not exist.
/// `reset` deletes an existing one first. `extra_funded` keys get an opening balance each
/// (the benchmark uses this for its senders).
pub fn prepare(data_dir: &Path, reset: bool, extra_funded: &[(PublicKey, u128)]) -> Result<DevChain, NodeError> {
    let genesis_path = data_dir.join("genesis.json");
    let keys_dir = data_dir.join("keys");
    if reset && data_dir.exists() {
        std::fs::remove_dir_all(data_dir).map_err(io(data_dir))?;
    }
    let created = !genesis_path.exists();
    if created {
        std::fs::create_dir_all(&keys_dir).map_err(io(&keys_dir))?;
        let validator = SecretKey::generate();
        write_key(&keys_dir.join("validator.key"), &validator)?;
        let mut accounts = create_demo_accounts(&keys_dir)?;
        for (i, (key, balance)) in extra_funded.iter().enumerate() {
            accounts.push(GenesisAccountJson::new(format!("bench-{i}"), key, *balance));
        }
        let genesis = Genesis {
            chain_id: DEV_CHAIN_ID.to_owned(),
            genesis_time_ms: crate::consensus::now_ms(),
            validators: vec![GenesisValidator::new("dev-validator", &validator.public_key(), None)],
            accounts,
            council: Some(demo_council()),
        };
        // Written last: its presence marks a complete dev directory.
        let tmp = data_dir.join("genesis.json.tmp");
        std::fs::write(&tmp, genesis.to_json()).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &genesis_path).map_err(io(&genesis_path))?;
    }
    let genesis = Genesis::load(&genesis_path)?;
    let validator = read_key(&keys_dir.join("validator.key"))?;
    let accounts = genesis
        .accounts
        .iter()
        .filter(|a| DEMO_ACCOUNTS.iter().any(|(n, ..)| *n == a.name))
        .map(|a| {
            let key = PublicKey::from_hex(&a.public_key)
                .map_err(|e| NodeError::KeyFile { path: genesis_path.display().to_string(), why: e.to_string() })?;
            Ok((a.name.clone(), Did::from_initial_key(&key)))
        })
        .collect::<Result<Vec<_>, NodeError>>()?;
    Ok(DevChain { data_dir: data_dir.to_owned(), genesis, validator, accounts, created })
}
