//! The dev chain's demo data that genesis cannot hold: three manufacturers' devices, made by
//! ordinary transactions (so it shows the paths a city would take). Hoodworks (vendor FFF1)
//! makes a range hood, Flameco (FFF2) a gas stove, Lockworks (FFF5) a door lock; the council
//! approves the demo PAA, each vendor adds its PAI and model, the certification department
//! certifies each version, alice registers and binds the three devices and grants homehub
//! (another brand's hub) what the `kitchen` scene needs (the stove's gas-leak event and
//! shut-off, the hood's boost and fan speed) and the `front-door` scene's lock state and
//! forced-door alarm. The lock's event log goes to homehub as its gateway
//! (`civitas gateway --config DATA_DIR/gateway.toml`), sealed for alice's key agreement key
//! (`keys/alice-x25519.key`, in her DID document).
//!
//! [`device_steps`] lists the transactions; whoever runs the chain submits them in order (the
//! `civitas dev` command, API tests). The demo PKI (`DATA_DIR/pki/`) is the deterministic test
//! PKI of [`civitas_types::device::testing`]: fine for a demo, never for a real chain.

use std::path::Path;

use civitas_types::council::CouncilAction;
use civitas_types::credential::{CredentialPolicy, DisclosureRule};
use civitas_types::device::passport::{binding_statement, registration_challenge};
use civitas_types::device::testing::{Ca, CertSpec, TestKey};
use civitas_types::device::{Capabilities, DeviceId, DeviceInstruction};
use civitas_types::did_doc::{DidDocumentData, KeyMaterial, Relations, VerificationMethod};
use civitas_types::fund::{MilestoneSpec, PayrollLine};
use civitas_types::log::LogInstruction;
use civitas_types::org::OrgKind;
use civitas_types::rental::{Furnished, Included, LeaseTerms, ListingTerms, RentPeriod, add_months};
use civitas_types::sdjwt::{self, Credential, SigningKey, VerifyingKey};
use civitas_types::{
    CouncilInstruction, CredentialInstruction, Did, DidInstruction, FundInstruction, Hash, Instruction,
    RentalInstruction, SecretKey, keyfile,
};
use serde_json::{Map, json};

use crate::Node;
use crate::dev::{read_key, write_key, write_secret_file};
use crate::error::NodeError;

/// The demo grants' length: a year.
const GRANT_SECS: u64 = 365 * 24 * 3600;

/// One demo transaction: who signs it (with their next nonce, when it is submitted), and what
/// it does.
pub struct Step {
    /// What it is for, for errors.
    pub what: &'static str,
    /// The signer.
    pub signer: SecretKey,
    /// Its instructions.
    pub instructions: Vec<Instruction>,
}

/// The demo devices of a dev chain.
pub struct DemoDevices {
    /// The range hood's id.
    pub hood: DeviceId,
    /// The gas stove's id.
    pub stove: DeviceId,
    /// The door lock's id.
    pub lock: DeviceId,
}

/// 32 bytes from the operating system's randomness (an Ed25519 seed's), as an X25519 secret.
fn x25519_secret() -> [u8; 32] {
    SecretKey::generate().seed()
}

/// One demo device: its vendor's PAI, product, model and the seeds of its keys.
struct Product {
    vendor: &'static str,
    vid: &'static str,
    pid: &'static str,
    vendor_id: u16,
    product_id: u16,
    name: &'static str,
    device_type: u32,
    capabilities: fn() -> Capabilities,
    granted: &'static [&'static str],
    scene: &'static str,
    key_file: &'static str,
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

const PRODUCTS: [Product; 3] = [
    Product {
        vendor: "hoodworks",
        vid: "FFF1",
        pid: "8001",
        vendor_id: 0xFFF1,
        product_id: 0x8001,
        name: "Hoodworks range hood H1",
        device_type: 0x007A,
        capabilities: || Capabilities {
            properties: names(&["fan_speed", "light"]),
            actions: names(&["boost"]),
            events: names(&["grease_filter_full"]),
        },
        granted: &["fan_speed", "boost"],
        scene: "kitchen",
        key_file: "range-hood",
    },
    Product {
        vendor: "flameco",
        vid: "FFF2",
        pid: "8002",
        vendor_id: 0xFFF2,
        product_id: 0x8002,
        name: "Flameco gas stove S2",
        device_type: 0x0078,
        capabilities: || Capabilities {
            properties: names(&["burner_level"]),
            actions: names(&["ignite", "shut_off"]),
            events: names(&["gas_leak", "flame_out"]),
        },
        granted: &["shut_off", "gas_leak"],
        scene: "kitchen",
        key_file: "gas-stove",
    },
    Product {
        vendor: "lockworks",
        vid: "FFF5",
        pid: "8005",
        vendor_id: 0xFFF5,
        product_id: 0x8005,
        name: "Lockworks door lock L5",
        device_type: 0x000A,
        capabilities: || Capabilities {
            properties: names(&["lock_state"]),
            actions: names(&["lock", "unlock"]),
            events: names(&["lock_operation", "door_forced"]),
        },
        granted: &["lock_state", "door_forced"],
        scene: "front-door",
        key_file: "door-lock",
    },
];

/// The demo devices of the dev chain in `data_dir`, from their key files (none if they are
/// missing: a chain made before the demo had devices).
pub fn devices(data_dir: &Path) -> Option<DemoDevices> {
    let id = |file: &str| {
        read_key(&data_dir.join("keys").join(format!("{file}.key"))).ok().map(|k| DeviceId(k.public_key()))
    };
    Some(DemoDevices {
        hood: id(PRODUCTS[0].key_file)?,
        stove: id(PRODUCTS[1].key_file)?,
        lock: id(PRODUCTS[2].key_file)?,
    })
}

/// The demo's transactions for a newly created dev chain in `data_dir`, in order: it writes the
/// devices' operational keys to `keys/` and the demo certificates to `pki/`. The council's
/// approval names the next proposal `node` will number.
pub fn device_steps(node: &Node, data_dir: &Path) -> Result<Vec<Step>, NodeError> {
    let keys = data_dir.join("keys");
    let key = |name: &str| read_key(&keys.join(format!("{name}.key")));
    let did = |k: &SecretKey| Did::from_initial_key(&k.public_key());
    let pki = data_dir.join("pki");
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| NodeError::Io { path, source }
    };
    std::fs::create_dir_all(&pki).map_err(io(&pki))?;
    let write = |name: &str, der: &[u8]| {
        let path = pki.join(name);
        std::fs::write(&path, der).map_err(io(&path))
    };
    let mut steps = Vec::new();

    // The roots of trust: one demo PAA (no vendor id), approved by the council.
    let paa = Ca::root(&CertSpec { name: "Civitas Demo PAA", vid: None, ..CertSpec::paa() }, TestKey::new(0x51));
    write("paa.der", &paa.der)?;
    let (proposer, approver) = (key("civil-affairs")?, key("housing")?);
    let propose = CouncilInstruction::Propose {
        action: CouncilAction::AddPaa { certificate: paa.der.clone() },
        ttl_blocks: 100,
        by: did(&proposer),
    };
    let mut proposal = 0;
    while node.query(|s| civitas_execution::council::query::proposal(s, proposal))?.is_some() {
        proposal += 1;
    }
    steps.push(Step {
        what: "propose the demo PAA",
        signer: proposer,
        instructions: vec![Instruction::Council(propose)],
    });
    let approve = CouncilInstruction::Approve { proposal, by: did(&approver) };
    steps.push(Step {
        what: "approve the demo PAA",
        signer: approver,
        instructions: vec![Instruction::Council(approve)],
    });

    let (alice, hub) = (key("alice")?, key("homehub")?);
    let certifier = key("certification")?;
    let now = node.status().latest.timestamp_ms / 1000;
    let mut ids = Vec::new();
    let mut alice_does = Vec::new();
    for (n, product) in PRODUCTS.iter().enumerate() {
        let seed = 0x52 + 2 * n as u8;
        let vendor = key(product.vendor)?;
        let by = did(&vendor);
        let (vid, pid) = (product.vendor_id, product.product_id);
        let pai_spec = CertSpec { name: "Civitas Demo PAI", vid: Some(product.vid), ..CertSpec::pai() };
        let pai = paa.intermediate(&pai_spec, TestKey::new(seed));
        write(&format!("pai-{}.der", product.vid), &pai.der)?;
        let checksum = Hash::digest(format!("{} firmware 1.2.0", product.name).as_bytes());
        let vendor_steps = vec![
            DeviceInstruction::ClaimVendorId { vendor_id: vid, name: product.vendor.into(), by },
            DeviceInstruction::AddPai { certificate: pai.der.clone(), by },
            DeviceInstruction::RegisterModel {
                vendor_id: vid,
                product_id: pid,
                device_type: product.device_type,
                name: product.name.into(),
                capabilities: (product.capabilities)(),
                by,
            },
            DeviceInstruction::AddModelVersion {
                vendor_id: vid,
                product_id: pid,
                software_version: 2,
                version_string: "1.2.0".into(),
                checksum,
                ota_url: format!("https://ota.{}.example/{}/1.2.0.ota", product.vendor, product.pid),
                min_applicable: 0,
                max_applicable: 1,
                by,
            },
        ];
        let instructions = vendor_steps.into_iter().map(Instruction::Devices).collect();
        steps.push(Step { what: "a vendor's PAI, model and version", signer: vendor, instructions });
        let certify = DeviceInstruction::CertifyModelVersion {
            vendor_id: vid,
            product_id: pid,
            software_version: 2,
            certified: true,
            reason: String::new(),
            by: did(&certifier),
        };
        let instructions = vec![Instruction::Devices(certify)];
        steps.push(Step { what: "certify a demo version", signer: certifier.clone(), instructions });

        // The device: its DAC (made at the factory) and its operational key (made on the device).
        let dac_key = TestKey::new(seed + 1);
        let dac = pai.issue(
            &CertSpec { name: product.name, vid: Some(product.vid), pid: Some(product.pid), ..CertSpec::dac() },
            &dac_key,
        );
        write(&format!("dac-{}.der", product.key_file), &dac)?;
        let operational = SecretKey::generate();
        write_key(&keys.join(format!("{}.key", product.key_file)), &operational)?;
        let id = DeviceId(operational.public_key());
        let chain_id = node.status().chain_id.clone();
        let possession = dac_key.sign_der(&registration_challenge(&chain_id, &operational.public_key()));
        let consent = operational.sign(&binding_statement(&chain_id, &id, &did(&alice), 0));
        alice_does.extend([
            DeviceInstruction::RegisterDevice {
                dac,
                operational_key: operational.public_key(),
                software_version: 2,
                possession,
            },
            DeviceInstruction::BindDevice { device: id, owner: did(&alice), device_signature: consent },
            DeviceInstruction::GrantDevice {
                device: id,
                controller: did(&hub),
                capabilities: names(product.granted),
                not_before: now,
                not_after: now + GRANT_SECS,
                scene: product.scene.into(),
            },
        ]);
        ids.push(id);
    }
    let mut instructions: Vec<Instruction> = alice_does.into_iter().map(Instruction::Devices).collect();
    // The door lock's events go to homehub, acting as her gateway; her key agreement key lets
    // the lock seal each entry's payload for her alone.
    let lock = ids[2];
    instructions.push(Instruction::Logs(LogInstruction::SetLogGateway { device: lock, gateway: Some(did(&hub)) }));
    let agreement = x25519_secret();
    write_secret_file(&keys.join("alice-x25519.key"), &keyfile::render_x25519(&agreement))?;
    let method = VerificationMethod {
        fragment: "key-agreement".into(),
        key: KeyMaterial::X25519(keyfile::x25519_public(&agreement)),
        relations: Relations::KEY_AGREEMENT,
    };
    let document = DidDocumentData { methods: vec![method], ..DidDocumentData::default() };
    instructions.push(Instruction::Dids(DidInstruction::UpdateDid { did: did(&alice), document }));
    steps.push(Step { what: "alice's kitchen and front door", signer: alice, instructions });
    Ok(steps)
}

/// The demo school project's transactions, in order: the finance bureau opens "Riverside
/// Primary School" for the education bureau (supervised by a site-supervision company, audited
/// by the audit office) with 500,000.00; the education bureau awards the main works to Jianye
/// Construction in three milestones; Jianye accepts and subcontracts the brickwork to Lianhua
/// Masonry, which accepts; the foundations are reported and approved by both overseers, which
/// releases them; Lianhua files a payroll for three workers, which Jianye approves (each
/// worker's account is credited directly), and Jianye pays Lianhua's share and its own.
pub fn fund_steps(node: &Node, data_dir: &Path) -> Result<Vec<Step>, NodeError> {
    let keys = data_dir.join("keys");
    let key = |name: &str| read_key(&keys.join(format!("{name}.key")));
    let did = |k: &SecretKey| Did::from_initial_key(&k.public_key());
    let (finance, education, audit) = (key("finance")?, key("education")?, key("audit-office")?);
    let (builder, masonry, supervision) =
        (key("jianye-construction")?, key("lianhua-masonry")?, key("site-supervision")?);
    let workers = [key("worker-1")?, key("worker-2")?, key("worker-3")?];
    let project =
        node.query(|s| civitas_execution::funds::query::list_len(s, &civitas_types::fund::FundList::Projects))?;
    // Contracts and payrolls are numbered chain-wide: ours are the next free numbers.
    let mut contract = 0;
    while node.query(|s| civitas_execution::funds::query::contract(s, contract))?.is_some() {
        contract += 1;
    }
    let subcontract = contract + 1;
    let mut payroll = 0;
    while node.query(|s| civitas_execution::funds::query::payroll(s, payroll))?.is_some() {
        payroll += 1;
    }
    let now = node.status().latest.timestamp_ms / 1000;
    let day: u64 = 24 * 3600;
    let milestone = |title: &str, deliverable: &str, amount, days: u64| MilestoneSpec {
        title: title.into(),
        deliverable: deliverable.into(),
        amount,
        due: now + days * day,
    };
    let step = |what, signer: &SecretKey, list: Vec<FundInstruction>| Step {
        what,
        signer: signer.clone(),
        instructions: list.into_iter().map(Instruction::Funds).collect(),
    };
    let (by_builder, by_masonry) = (did(&builder), did(&masonry));
    Ok(vec![
        step(
            "open the school project",
            &finance,
            vec![FundInstruction::OpenProject {
                title: "Riverside Primary School".into(),
                purpose: "A 24-classroom primary school with a sports ground, for the Riverside district".into(),
                owner: did(&education),
                supervisor: did(&supervision),
                auditor: Some(did(&audit)),
                amount: 50_000_000,
                by: did(&finance),
            }],
        ),
        step(
            "award the main works",
            &education,
            vec![FundInstruction::AwardContract {
                project,
                contractor: by_builder,
                title: "Main construction works".into(),
                milestones: vec![
                    milestone("Foundations", "Foundations and ground slab poured and inspected", 20_000_000, 90),
                    milestone("Structure", "Frame, floors and roof closed", 20_000_000, 180),
                    milestone("Fit-out", "Classrooms fitted out, handed over", 10_000_000, 270),
                ],
                by: did(&education),
            }],
        ),
        step(
            "accept, subcontract the brickwork, report the foundations",
            &builder,
            vec![
                FundInstruction::AcceptContract { contract, by: by_builder },
                FundInstruction::Subcontract {
                    contract,
                    subcontractor: by_masonry,
                    title: "Brickwork and masonry".into(),
                    amount: 8_000_000,
                    by: by_builder,
                },
                FundInstruction::ReportMilestone {
                    contract,
                    milestone: 0,
                    report: "Slab poured 2026-11-20; inspection report sha256:9f2c41d7".into(),
                    by: by_builder,
                },
            ],
        ),
        step(
            "accept the brickwork",
            &masonry,
            vec![FundInstruction::AcceptContract { contract: subcontract, by: by_masonry }],
        ),
        step(
            "the supervisor approves the foundations",
            &supervision,
            vec![FundInstruction::ReviewMilestone {
                contract,
                milestone: 0,
                approve: true,
                reason: String::new(),
                by: did(&supervision),
            }],
        ),
        step(
            "the auditor approves the foundations",
            &audit,
            vec![FundInstruction::ReviewMilestone {
                contract,
                milestone: 0,
                approve: true,
                reason: String::new(),
                by: did(&audit),
            }],
        ),
        step(
            "file the masons' payroll",
            &masonry,
            vec![FundInstruction::FilePayroll {
                subcontract,
                milestone: 0,
                lines: workers
                    .iter()
                    .zip([600_000, 550_000, 500_000])
                    .map(|(w, amount)| PayrollLine { worker: did(w), amount })
                    .collect(),
                by: by_masonry,
            }],
        ),
        step(
            "approve the payroll and pay the shares",
            &builder,
            vec![
                FundInstruction::ApprovePayroll { payroll, by: by_builder },
                FundInstruction::PayShare {
                    contract,
                    milestone: 0,
                    subcontract: Some(subcontract),
                    amount: 3_000_000,
                    by: by_builder,
                },
                FundInstruction::PayShare {
                    contract,
                    milestone: 0,
                    subcontract: None,
                    amount: 10_000_000,
                    by: by_builder,
                },
            ],
        ),
    ])
}

/// The listing nonce and the consent purpose a listing's presentation needs (the chain's own,
/// re-exported for clients that link the node but not the execution crate, such as the CLI).
pub use civitas_execution::rentals::{LISTING_PURPOSE, listing_nonce};

/// The demo property certificate's type (the housing department's SD-JWT VC).
pub const PROPERTY_VCT: &str = "https://housing.civitas.example/property-certificate";

/// Where the demo keeps alice's property certificate (the issuance, `<jwt>~<disclosures>~`):
/// `civitas credential present --wallet DATA_DIR/wallet --name alice-property` and
/// `civitas rental list --wallet DATA_DIR/wallet --name alice-property` read it.
pub const PROPERTY_WALLET: (&str, &str) = ("wallet", "alice-property");

/// The claims of the demo certificate a listing discloses (and alice consents to).
pub const LISTED_CLAIMS: [&str; 3] = ["property_id", "address", "floor_area"];

/// The status list entries the demo searches for a free one from: clear of the low entries
/// examples and tests anchor at.
const DEMO_STATUS_FROM: u32 = 1_000;

/// The demo lease's rent and deposit, in minor units. Small on purpose: bob opens the dev chain
/// with 5,000 and must afford the deposit and the first month (3,600 in all).
const DEMO_RENT: u128 = 1_200;
const DEMO_DEPOSIT: u128 = 2_400;

/// The demo lease's text; its SHA-256 is the lease's `document`.
const LEASE_TEXT: &str = "Residential lease\n\n\
Landlord: Alice Wang. Tenant: Bob.\n\
Property: XA-RX-0417, Building 4, Unit 2, 17 Rongxi Road, Xiong'an (86 m2, partly furnished).\n\
Term: 12 months from the start in the lease record on chain.\n\
Rent: 1,200 a month, due on the start's day of each month; it includes water, internet and the \
building's management fee.\n\
Deposit: 2,400, held in escrow by the chain and released after the end as the lease provides.\n\
The front-door lock opens for the tenant for the term of the lease.\n";

/// The JSON schema of the demo property certificate's type, as housing defines it.
pub fn property_schema() -> serde_json::Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Property certificate",
        "type": "object",
        "properties": {
            "property_id": { "type": "string", "pattern": "^[A-Za-z0-9._/-]{1,64}$" },
            "address": { "type": "string", "maxLength": 256 },
            "floor_area": { "type": "integer", "minimum": 1 },
            "owner_name": { "type": "string" }
        },
        "required": ["property_id", "address", "floor_area", "owner_name"]
    })
}

/// The demo property certificate type's policy: the holder's consent required; departments may
/// see every claim.
pub fn property_policy() -> CredentialPolicy {
    CredentialPolicy {
        holder_consent: true,
        issuer_approval: false,
        rules: vec![DisclosureRule {
            verifier_kind: OrgKind::Department,
            claims: names(&["property_id", "address", "floor_area", "owner_name"]),
        }],
    }
}

/// The claims of a property certificate: `(property_id, address, floor_area, owner_name)`.
pub type PropertyClaims<'a> = (&'a str, &'a str, u64, &'a str);

/// A property certificate `housing` issues to `holder` (bound to its key), valid ten years from
/// `now` (unix seconds), its status at `index` of housing's list, as the demo issues alice's:
/// the issuance (`<jwt>~<disclosures>~`) and its commitment (what `AnchorCredential` anchors).
pub fn issue_property_certificate(
    housing: &SecretKey,
    holder: &SecretKey,
    index: u32,
    now: u64,
    (property_id, address, floor_area, owner_name): PropertyClaims<'_>,
) -> Result<(String, Hash), sdjwt::SdJwtError> {
    let housing_did = Did::from_initial_key(&housing.public_key());
    let mut visible = Map::new();
    visible.insert("iss".into(), json!(housing_did.to_string()));
    visible.insert("sub".into(), json!(Did::from_initial_key(&holder.public_key()).to_string()));
    visible.insert("vct".into(), json!(PROPERTY_VCT));
    visible.insert("iat".into(), json!(now));
    visible.insert("exp".into(), json!(now + 10 * 365 * 24 * 3600));
    let uri = format!("http://127.0.0.1:8080/v1/credentials/status/{housing_did}/{index}");
    visible.insert("status".into(), json!({ "status_list": { "idx": index, "uri": uri } }));
    let mut disclosable = Map::new();
    disclosable.insert("property_id".into(), json!(property_id));
    disclosable.insert("address".into(), json!(address));
    disclosable.insert("floor_area".into(), json!(floor_area));
    disclosable.insert("owner_name".into(), json!(owner_name));
    let credential = Credential { visible, disclosable, holder: VerifyingKey::ed25519(&holder.public_key()) };
    let salt = || {
        let mut s = [0u8; 16];
        s.copy_from_slice(&SecretKey::generate().seed()[..16]);
        s
    };
    let issuance = sdjwt::issue(&SigningKey::Ed25519(housing.clone()), Some("#key-0"), &credential, salt, 2)?;
    let commitment = Hash::digest(issuance.split('~').next().unwrap_or_default().as_bytes());
    Ok((issuance, commitment))
}

/// The demo rental, in order: the council accredits housing for property certificates
/// ([`PROPERTY_VCT`]); housing defines the type (the holder's consent required; departments see
/// `property_id`, `address`, `floor_area`, `owner_name`) and issues alice a certificate for
/// XA-RX-0417 bound to her account key, anchored at the first free status entry from 1,000 and
/// written to `DATA_DIR/wallet/alice-property.sdjwt`; alice consents that housing see the
/// listed claims for `rental listing` and lists the flat with a presentation bound to her own
/// DID and the chain's listing nonce; she offers bob a 12-month lease (rent 1,200 a month,
/// deposit 2,400, starting a day from now, her demo door lock, text in `DATA_DIR/lease-N.txt`, N the lease);
/// bob signs it (the deposit goes into escrow, the lease is filed with housing) and pays the
/// first month. The proposal, consent, listing and lease numbers are the next free ones on
/// `node`; the key binding is dated at its latest block.
pub fn rental_steps(node: &Node, data_dir: &Path) -> Result<Vec<Step>, NodeError> {
    use civitas_execution::{council, credentials, rentals};
    let keys = data_dir.join("keys");
    let key = |name: &str| read_key(&keys.join(format!("{name}.key")));
    let did = |k: &SecretKey| Did::from_initial_key(&k.public_key());
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| NodeError::Io { path, source }
    };
    let (housing, proposer, alice, bob) = (key("housing")?, key("civil-affairs")?, key("alice")?, key("bob")?);
    let (housing_did, alice_did) = (did(&housing), did(&alice));
    let status = node.status();
    let now = status.latest.timestamp_ms / 1000;
    let chain_id = status.chain_id.clone();
    let mut steps = Vec::new();

    // The council accredits housing (civil affairs proposes, housing approves: two of three).
    let mut proposal = 0;
    while node.query(|s| council::query::proposal(s, proposal))?.is_some() {
        proposal += 1;
    }
    let action = CouncilAction::AccreditIssuer { issuer: housing_did, vct: PROPERTY_VCT.into() };
    steps.push(Step {
        what: "propose accrediting housing for property certificates",
        signer: proposer.clone(),
        instructions: vec![Instruction::Council(CouncilInstruction::Propose {
            action,
            ttl_blocks: 100,
            by: did(&proposer),
        })],
    });
    steps.push(Step {
        what: "approve accrediting housing",
        signer: housing.clone(),
        instructions: vec![Instruction::Council(CouncilInstruction::Approve { proposal, by: housing_did })],
    });

    // Housing defines the type and issues alice her certificate, anchored at a free entry.
    let (schema, policy) = (property_schema(), property_policy());
    let mut index = DEMO_STATUS_FROM;
    while node.query(|s| credentials::query::anchor(s, &housing_did, index))?.is_some() {
        index += 1;
    }
    let mut visible = Map::new();
    visible.insert("iss".into(), json!(housing_did.to_string()));
    visible.insert("sub".into(), json!(alice_did.to_string()));
    visible.insert("vct".into(), json!(PROPERTY_VCT));
    visible.insert("iat".into(), json!(now));
    visible.insert("exp".into(), json!(now + 10 * 365 * 24 * 3600));
    let uri = format!("http://127.0.0.1:8080/v1/credentials/status/{housing_did}/{index}");
    visible.insert("status".into(), json!({ "status_list": { "idx": index, "uri": uri } }));
    let mut disclosable = Map::new();
    disclosable.insert("property_id".into(), json!("XA-RX-0417"));
    disclosable.insert("address".into(), json!("Building 4, Unit 2, 17 Rongxi Road, Xiong'an"));
    disclosable.insert("floor_area".into(), json!(86));
    disclosable.insert("owner_name".into(), json!("Alice Wang"));
    let holder_key = VerifyingKey::ed25519(&alice.public_key()).ok_or_else(|| NodeError::KeyFile {
        path: keys.join("alice.key").display().to_string(),
        why: "the public key is not a curve point".into(),
    })?;
    let credential = Credential { visible, disclosable, holder: Some(holder_key) };
    let salt = || {
        let mut s = [0u8; 16];
        s.copy_from_slice(&SecretKey::generate().seed()[..16]);
        s
    };
    let failed = |what: &str, e: sdjwt::SdJwtError| NodeError::Io {
        path: data_dir.join(PROPERTY_WALLET.0).display().to_string(),
        source: std::io::Error::other(format!("{what} the demo property certificate: {e}")),
    };
    let issuance = sdjwt::issue(&SigningKey::Ed25519(housing.clone()), Some("#key-0"), &credential, salt, 2)
        .map_err(|e| failed("issuing", e))?;
    let wallet = data_dir.join(PROPERTY_WALLET.0);
    std::fs::create_dir_all(&wallet).map_err(io(&wallet))?;
    let file = wallet.join(format!("{}.sdjwt", PROPERTY_WALLET.1));
    std::fs::write(&file, &issuance).map_err(io(&file))?;
    let commitment = Hash::digest(issuance.split('~').next().unwrap_or_default().as_bytes());
    steps.push(Step {
        what: "housing defines the property certificate and anchors alice's",
        signer: housing.clone(),
        instructions: vec![
            Instruction::Credentials(CredentialInstruction::DefineCredentialType {
                vct: PROPERTY_VCT.into(),
                schema: schema.to_string(),
                policy,
                by: housing_did,
            }),
            Instruction::Credentials(CredentialInstruction::AnchorCredential {
                vct: PROPERTY_VCT.into(),
                commitment,
                status_index: index,
                by: housing_did,
            }),
        ],
    });

    // Alice consents that housing see the listed claims, and lists her flat.
    let mut consent = 0;
    while node.query(|s| credentials::query::consent(s, consent))?.is_some() {
        consent += 1;
    }
    let mut listing = 0;
    while node.query(|s| rentals::query::listing(s, listing))?.is_some() {
        listing += 1;
    }
    let nonce = listing_nonce(&chain_id);
    let holder = SigningKey::Ed25519(alice.clone());
    let audience = alice_did.to_string();
    let presentation = sdjwt::present(&issuance, &LISTED_CLAIMS, Some((&holder, &audience, &nonce, now)))
        .map_err(|e| failed("presenting", e))?;
    let day: u64 = 24 * 3600;
    let terms = ListingTerms {
        title: "Two rooms on Rongxi Road, partly furnished".into(),
        rent: DEMO_RENT,
        period: RentPeriod::Monthly,
        deposit: DEMO_DEPOSIT,
        min_term_months: 12,
        available_from: now + day,
        furnished: Furnished::Partially,
        includes: vec![Included::Water, Included::Internet, Included::Management],
    };
    steps.push(Step {
        what: "alice consents and lists her flat",
        signer: alice.clone(),
        instructions: vec![
            Instruction::Credentials(CredentialInstruction::GrantConsent {
                verifier: housing_did,
                issuer: housing_did,
                vct: PROPERTY_VCT.into(),
                purpose: LISTING_PURPOSE.into(),
                claims: names(&LISTED_CLAIMS),
                ttl_blocks: 100_000,
                max_uses: 1,
            }),
            Instruction::Rentals(RentalInstruction::ListProperty {
                presentation,
                consent: Some(consent),
                terms,
                by: None,
            }),
        ],
    });

    // Alice offers bob a year's lease with her front-door lock; bob signs and pays a month.
    let mut lease = 0;
    while node.query(|s| rentals::query::lease(s, lease))?.is_some() {
        lease += 1;
    }
    let text_path = data_dir.join(format!("lease-{lease}.txt"));
    std::fs::write(&text_path, LEASE_TEXT).map_err(io(&text_path))?;
    let lock = devices(data_dir).map(|d| d.lock);
    let start = now + day;
    let lease_terms = LeaseTerms {
        rent: DEMO_RENT,
        period: RentPeriod::Monthly,
        deposit: DEMO_DEPOSIT,
        start,
        end: add_months(start, 12),
        lock,
        claim_days: 14,
        document: Hash::digest(LEASE_TEXT.as_bytes()),
    };
    steps.push(Step {
        what: "alice offers bob a lease",
        signer: alice,
        instructions: vec![Instruction::Rentals(RentalInstruction::OfferLease {
            listing,
            tenant: did(&bob),
            terms: lease_terms,
        })],
    });
    steps.push(Step {
        what: "bob signs the lease and pays the first month",
        signer: bob,
        instructions: vec![
            Instruction::Rentals(RentalInstruction::SignLease { lease, version: 1 }),
            Instruction::Rentals(RentalInstruction::PayRent { lease, amount: DEMO_RENT }),
        ],
    });
    Ok(steps)
}

/// The demo catalog's metro dataset: its schema (JSON Schema of one row).
const METRO_SCHEMA: &str = "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"title\":\"Gate entries\",\
\"type\":\"object\",\"properties\":{\"station\":{\"type\":\"string\"},\
\"hour\":{\"type\":\"string\",\"format\":\"date-time\"},\"entries\":{\"type\":\"integer\",\"minimum\":0}},\
\"required\":[\"station\",\"hour\",\"entries\"]}";

/// The demo metro dataset's content (a sample of it); its SHA-256 is the dataset's content hash.
const METRO_CSV: &str = "station,hour,entries\n\
Xiong'an Station,2026-03-02T07:00:00Z,1843\n\
Xiong'an Station,2026-03-02T08:00:00Z,2611\n\
Rongxi Road,2026-03-02T07:00:00Z,712\n\
Rongxi Road,2026-03-02T08:00:00Z,955\n\
Civic Centre,2026-03-02T07:00:00Z,1208\n\
Civic Centre,2026-03-02T08:00:00Z,1577\n";

/// The demo bus dataset's schema (a CSV header with types).
const BUS_SCHEMA: &str = "stop:string,route:string,date:date,boardings:integer";

/// The demo bus dataset's content (a sample of it).
const BUS_CSV: &str = "stop,route,date,boardings\n\
Rongxi Road North,R7,2026-03-02,412\n\
Civic Centre,R7,2026-03-02,688\n\
Civic Centre,R12,2026-03-02,530\n";

/// Where the demo writes its datasets' content: `DATA_DIR/data/<file>`.
pub const CATALOG_FILES: [&str; 2] = ["metro-entries.csv", "bus-boardings.csv"];

/// The demo data catalog, in order: the metro operator registers "Metro gate entries by station
/// and hour" (a JSON Schema, the SHA-256 of `DATA_DIR/data/metro-entries.csv`, CC-BY-4.0,
/// served at `https://data.metro.civitas.example/entries`); the bus operator registers "Bus
/// boardings by stop" (`DATA_DIR/data/bus-boardings.csv`) and asks to use metro's dataset for
/// bus network planning for 90 days; metro grants it for 60; bus logs one use. The dataset and
/// request numbers are the next free ones on `node`.
pub fn catalog_steps(node: &Node, data_dir: &Path) -> Result<Vec<Step>, NodeError> {
    use civitas_execution::catalog::query;
    use civitas_types::CatalogInstruction;
    let keys = data_dir.join("keys");
    let key = |name: &str| read_key(&keys.join(format!("{name}.key")));
    let did = |k: &SecretKey| Did::from_initial_key(&k.public_key());
    let (metro, bus) = (key("metro")?, key("bus")?);
    let (metro_did, bus_did) = (did(&metro), did(&bus));
    let files = data_dir.join("data");
    std::fs::create_dir_all(&files).map_err(|source| NodeError::Io { path: files.display().to_string(), source })?;
    for (name, text) in CATALOG_FILES.iter().zip([METRO_CSV, BUS_CSV]) {
        let path = files.join(name);
        std::fs::write(&path, text).map_err(|source| NodeError::Io { path: path.display().to_string(), source })?;
    }
    let mut dataset = 0;
    while node.query(|s| query::dataset(s, dataset))?.is_some() {
        dataset += 1;
    }
    let mut request = 0;
    while node.query(|s| query::request(s, request))?.is_some() {
        request += 1;
    }
    let step = |what, signer: &SecretKey, list: Vec<CatalogInstruction>| Step {
        what,
        signer: signer.clone(),
        instructions: list.into_iter().map(Instruction::Catalog).collect(),
    };
    Ok(vec![
        step(
            "metro registers its gate entries",
            &metro,
            vec![CatalogInstruction::RegisterDataset {
                title: "Metro gate entries by station and hour".into(),
                description: "Entries through the ticket gates of every metro station, counted per hour".into(),
                schema: METRO_SCHEMA.into(),
                content_hash: Hash::digest(METRO_CSV.as_bytes()),
                licence: "CC-BY-4.0".into(),
                endpoint: "https://data.metro.civitas.example/entries".into(),
                by: metro_did,
            }],
        ),
        step(
            "bus registers its boardings and asks for metro's entries",
            &bus,
            vec![
                CatalogInstruction::RegisterDataset {
                    title: "Bus boardings by stop".into(),
                    description: "Boardings at every bus stop, per route and day".into(),
                    schema: BUS_SCHEMA.into(),
                    content_hash: Hash::digest(BUS_CSV.as_bytes()),
                    licence: "CC-BY-4.0".into(),
                    endpoint: "https://data.bus.civitas.example/boardings".into(),
                    by: bus_did,
                },
                CatalogInstruction::RequestAccess {
                    dataset,
                    purpose: "bus network planning".into(),
                    days: 90,
                    by: bus_did,
                },
            ],
        ),
        step(
            "metro grants bus 60 days",
            &metro,
            vec![CatalogInstruction::DecideAccess {
                request,
                grant: true,
                days: 60,
                reason: String::new(),
                by: metro_did,
            }],
        ),
        step(
            "bus logs a use",
            &bus,
            vec![CatalogInstruction::RecordUse {
                request,
                note: "feeder routes to the metro: morning peak model".into(),
                by: bus_did,
            }],
        ),
    ])
}
