//! The permission table: for every instruction, who may perform it. Everything not listed is
//! denied. The checks themselves sit next to each instruction's effect (in its module); the
//! table-driven test below runs every instruction under every kind of actor and checks the
//! outcome matches this table exactly, and `docs/permissions.md` is rendered from it (a test
//! fails if the document is stale; `CIVITAS_BLESS=1` rewrites it).

/// A kind of actor, relative to what the instruction targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A key that holds no account.
    NewKey,
    /// A registered account with no relation to the target.
    Stranger,
    /// The target DID's own account (for instructions on one's own account: the signer).
    Owner,
    /// An account the target DID's document lists as a controller.
    Controller,
    /// The holder of the recovery key whose hash the target DID's document holds, signing with
    /// a fresh key.
    RecoveryKeyHolder,
    /// An account holding the `finance` role.
    Finance,
    /// An admin of the target organization (which is a market-regulation department).
    OrgAdmin,
    /// An officer of a department with the market-regulation function.
    MarketRegulationOfficer,
    /// An official of a department with the tax function.
    TaxOfficial,
    /// An official of a payment provider.
    PaymentProviderOfficial,
    /// An official of the merchant the instruction names (for an invoice: its seller).
    MerchantOfficial,
    /// An official of an employer (for a reimbursement: the one the invoice was submitted to).
    EmployerOfficial,
    /// An official of the issuer the council accredited for the credential type.
    IssuerOfficial,
    /// An official of a manufacturer (for a certificate: the one holding its vendor id).
    ManufacturerOfficial,
    /// An official of a department with the certification function.
    CertificationOfficial,
    /// The account a device was offered to.
    Recipient,
    /// The gateway a device's owner named for its event log.
    Gateway,
    /// An official of the department that owns the project.
    ProjectOwnerOfficial,
    /// An official of the contract's contractor (for a payroll: of the parent contract's).
    ContractorOfficial,
    /// An official of the subcontractor.
    SubcontractorOfficial,
    /// An official of the project's supervisor.
    SupervisorOfficial,
    /// An official of the project's auditor.
    AuditorOfficial,
    /// The landlord of the listing or lease (for a listing: the owner its certificate names).
    Landlord,
    /// The tenant of the lease.
    Tenant,
    /// An official of the letting agent the owner authorized.
    AgentOfficial,
    /// An official of the housing department the lease is filed with.
    HousingOfficial,
    /// An official of the organization that owns the dataset.
    DataOwnerOfficial,
    /// An official of the organization that asks to use a dataset (for a use: the grantee).
    DataRequesterOfficial,
    /// An official of a department with the transport function.
    TransportOfficial,
    /// An official of an operator the round names.
    OperatorOfficial,
    /// An official of an aggregator of the round (for the verification key: of its leader).
    AggregatorOfficial,
}

impl Actor {
    /// Every kind of actor.
    pub const ALL: [Actor; 31] = [
        Actor::NewKey,
        Actor::Stranger,
        Actor::Owner,
        Actor::Controller,
        Actor::RecoveryKeyHolder,
        Actor::Finance,
        Actor::OrgAdmin,
        Actor::MarketRegulationOfficer,
        Actor::TaxOfficial,
        Actor::PaymentProviderOfficial,
        Actor::MerchantOfficial,
        Actor::EmployerOfficial,
        Actor::IssuerOfficial,
        Actor::ManufacturerOfficial,
        Actor::CertificationOfficial,
        Actor::Recipient,
        Actor::Gateway,
        Actor::ProjectOwnerOfficial,
        Actor::ContractorOfficial,
        Actor::SubcontractorOfficial,
        Actor::SupervisorOfficial,
        Actor::AuditorOfficial,
        Actor::Landlord,
        Actor::Tenant,
        Actor::AgentOfficial,
        Actor::HousingOfficial,
        Actor::DataOwnerOfficial,
        Actor::DataRequesterOfficial,
        Actor::TransportOfficial,
        Actor::OperatorOfficial,
        Actor::AggregatorOfficial,
    ];

    /// For people.
    pub fn describe(self) -> &'static str {
        match self {
            Actor::NewKey => "a key with no account",
            Actor::Stranger => "any other account",
            Actor::Owner => "the account / DID itself (for a device: its owner)",
            Actor::Controller => "a controller of the DID",
            Actor::RecoveryKeyHolder => "the DID's recovery key (signing with a new key)",
            Actor::Finance => "an account with the finance role",
            Actor::OrgAdmin => "an admin of the organization (for the council: of a member department)",
            Actor::MarketRegulationOfficer => "an official of a market-regulation department",
            Actor::TaxOfficial => "an official of a tax department",
            Actor::PaymentProviderOfficial => "an official of the payment provider",
            Actor::MerchantOfficial => "an official of the merchant (for an invoice: its seller)",
            Actor::EmployerOfficial => "an official of the employer (for a reimbursement: the one it was submitted to)",
            Actor::IssuerOfficial => "an official of the issuer accredited for the credential type",
            Actor::ManufacturerOfficial => {
                "an official of a manufacturer (for a certificate: the one holding its vendor id)"
            }
            Actor::CertificationOfficial => "an official of a department with the certification function",
            Actor::Recipient => "the account a device was offered to",
            Actor::Gateway => "the gateway a device's owner named for its event log",
            Actor::ProjectOwnerOfficial => "an official of the department that owns the project",
            Actor::ContractorOfficial => {
                "an official of the contractor (for a payroll or a subcontract's end: of the parent contract's)"
            }
            Actor::SubcontractorOfficial => "an official of the subcontractor",
            Actor::SupervisorOfficial => "an official of the project's supervisor",
            Actor::AuditorOfficial => "an official of the project's auditor",
            Actor::Landlord => "the landlord (for a listing: the owner its property certificate names)",
            Actor::Tenant => "the tenant of the lease",
            Actor::AgentOfficial => "an official of the letting agent the owner authorized",
            Actor::HousingOfficial => "an official of the housing department the lease is filed with",
            Actor::DataOwnerOfficial => "an official of the organization that owns the dataset",
            Actor::DataRequesterOfficial => {
                "an official of the organization asking to use a dataset (for a use: the grantee)"
            }
            Actor::TransportOfficial => "an official of a department with the transport function",
            Actor::OperatorOfficial => "an official of an operator the round names",
            Actor::AggregatorOfficial => {
                "an official of an aggregator of the round (for the verification key: of its leader)"
            }
        }
    }
}

/// Who may perform one instruction.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The instruction's name.
    pub instruction: &'static str,
    /// What it acts on.
    pub target: &'static str,
    /// Who may.
    pub allowed: &'static [Actor],
}

/// Every account acting on itself.
pub(crate) const ANY_ACCOUNT: &[Actor] = &[
    Actor::Stranger,
    Actor::Owner,
    Actor::Controller,
    Actor::Finance,
    Actor::OrgAdmin,
    Actor::MarketRegulationOfficer,
    Actor::TaxOfficial,
    Actor::PaymentProviderOfficial,
    Actor::MerchantOfficial,
    Actor::EmployerOfficial,
    Actor::IssuerOfficial,
    Actor::ManufacturerOfficial,
    Actor::CertificationOfficial,
    Actor::Recipient,
    Actor::Gateway,
    Actor::ProjectOwnerOfficial,
    Actor::ContractorOfficial,
    Actor::SubcontractorOfficial,
    Actor::SupervisorOfficial,
    Actor::AuditorOfficial,
    Actor::Landlord,
    Actor::Tenant,
    Actor::AgentOfficial,
    Actor::HousingOfficial,
    Actor::DataOwnerOfficial,
    Actor::DataRequesterOfficial,
    Actor::TransportOfficial,
    Actor::OperatorOfficial,
    Actor::AggregatorOfficial,
];

/// Every instruction's rule, module by module (each module's `PERMISSIONS`, in the order of
/// the crate's module list).
pub fn table() -> impl Iterator<Item = &'static Rule> {
    crate::PERMISSIONS.iter().flat_map(|rules| rules.iter())
}

/// The table as Markdown, for `docs/permissions.md`.
pub fn render_markdown() -> String {
    let mut out = String::from(
        "# Permissions\n\nGenerated from `crates/execution/src/permissions.rs` (the test \
         `permissions::tests::the_document_matches_the_table` checks it; `CIVITAS_BLESS=1` rewrites it). \
         Deny by default: whoever is not listed is refused, with a stable error code, and nothing \
         changes. The table-driven test runs every instruction under every kind of actor.\n\n\
         | instruction | acts on | allowed |\n|---|---|---|\n",
    );
    for rule in table() {
        let allowed = if rule.allowed == ANY_ACCOUNT {
            "every account, for itself".to_owned()
        } else {
            rule.allowed.iter().map(|a| a.describe()).collect::<Vec<_>>().join("; ")
        };
        out.push_str(&format!("| `{}` | {} | {} |\n", rule.instruction, rule.target, allowed));
    }
    out.push_str("\nActors:\n\n");
    for a in Actor::ALL {
        out.push_str(&format!("- {}\n", a.describe()));
    }
    out
}

#[cfg(test)]
mod tests {
    use civitas_types::council::CouncilAction;
    use civitas_types::device::testing::{Ca, CertSpec, TestKey};
    use civitas_types::did_doc::DidDocumentData;
    use civitas_types::org::{OrgKind, OrgRole};
    use civitas_types::{
        AccountInstruction, CouncilInstruction, CredentialInstruction, DeviceInstruction, DidInstruction,
        FundInstruction, InvoiceInstruction, LogInstruction, OrgInstruction,
    };
    use civitas_types::{Hash, Instruction, Transaction, TxOutcome, VerifiedTransaction};

    use super::*;
    use crate::tests::{CHAIN, Harness, did, failed_code, harness, key, tx};

    // Keys: 2 owns the target DID, 3 is its controller, 4 a stranger, 5 a market-regulation
    // officer, 10 the market-regulation department (admin of itself), 1 finance, 7 the recovery
    // key, 8 a key with no account.
    const OWNER: u8 = 2;
    const CONTROLLER: u8 = 3;
    const STRANGER: u8 = 4;
    const OFFICER: u8 = 5;
    const RECOVERY: u8 = 7;
    const NEW_KEY: u8 = 8;
    const DEPARTMENT: u8 = 10;
    const HOUSING: u8 = 11;
    // The invoice world (see `crate::tests::harness`): 13 the tax bureau, 14 a payment provider,
    // 15 the metro operator (a merchant), 16 an employer; invoice 1 is the owner's, issued;
    // invoice 2 is the owner's, submitted to the employer; payment `p-open` has no invoice.
    const TAX: u8 = 13;
    const PROVIDER: u8 = 14;
    const MERCHANT: u8 = 15;
    const EMPLOYER: u8 = 16;
    // The credential world: housing (11) is accredited for VCT and has defined it (consent and
    // approval required), with a credential anchored at entry 0; the owner granted the
    // market-regulation department consent 0 (pending approval) and consent 1 (approved).
    const ISSUER: u8 = HOUSING;
    const VCT: &str = "https://civitas.example/vct/property-certificate";
    // The device world: 18 a manufacturer holding vendor id FFF1, under a PAA the council
    // approved (proposal 2), with one PAI (key 2 of the test PKI) trusted.
    const MANUFACTURER: u8 = 18;
    // 19 certifies model versions; the manufacturer's model FFF1/8001 has versions 2
    // (certified) and 3.
    const CERTIFIER: u8 = 19;
    // Device D1 (DAC key 10 of the test PKI, operational key 30) is the owner's, with a grant
    // to the controller, offered to 20 (the recipient); D2 (DAC key 11, operational key 31) is
    // unbound.
    const RECIPIENT: u8 = 20;
    // 21 is the gateway the owner named for D1's event log.
    const GATEWAY: u8 = 21;
    const D1: u8 = 30;
    const D2: u8 = 31;
    // The funds world (keys of `crate::tests::harness`): project 0 of the education bureau (41,
    // 500 appropriated, supervised by 44 and audited by 45); contract 0 to the builder (42,
    // accepted): milestone 0 approved and released, 1 reported, 2 pending; subcontract 1 to the
    // masonry company (43, accepted) with payroll 0 filed for worker 46; contract 2 offered.
    const PROJECT_OWNER: u8 = 41;
    const CONTRACTOR: u8 = 42;
    const SUBCONTRACTOR: u8 = 43;
    const SUPERVISOR: u8 = 44;
    const AUDITOR: u8 = 45;
    const WORKER: u8 = 46;
    // The rentals world (see `rentals_world`): housing (11) certifies properties A to E for the
    // landlord (50); A is leased to the tenant (51) as lease 0, whose amendment the tenant
    // proposed; B is listed by the agent (52) and offered to the tenant (lease 1, unsigned); C
    // is certified but unlisted; lease 2 on D is terminated, its deposit claimed and disputed;
    // lease 3 on E has run out, its deposit unclaimed. Then a day passes.
    use crate::rentals::tests::{AGENT, HOUSING as HOUSING_BUREAU, LANDLORD, TENANT};
    // The catalog world: 54 owns dataset 0 (active) and 1; 55 asked for both: request 0 granted,
    // request 1 pending.
    const DATA_OWNER: u8 = 54;
    const DATA_USER: u8 = 55;
    // The stats world: the transport bureau (56) defined round 0 (open), rounds 1 and 2 (past
    // their deadlines, reported by the taxi company 57 and the employers 16 and 17); both
    // aggregators (58 leading, 59) prepared round 2's reports, none of round 1's.
    const TAXI: u8 = 57;
    const STATS_LEADER: u8 = 58;
    const STATS_HELPER: u8 = 59;
    const STATS_OPERATORS: [u8; 3] = [TAXI, 16, 17];
    /// The landlord's consent to the housing bureau for listing.
    const LISTING_CONSENT: u64 = 2;

    fn funds(i: FundInstruction) -> Instruction {
        Instruction::Funds(i)
    }

    fn milestone(amount: u128) -> civitas_types::fund::MilestoneSpec {
        civitas_types::fund::MilestoneSpec { title: "Stage".into(), deliverable: "Works".into(), amount, due: 100_000 }
    }

    fn award(amounts: &[u128]) -> Instruction {
        funds(FundInstruction::AwardContract {
            project: 0,
            contractor: did(CONTRACTOR),
            title: "Main works".into(),
            milestones: amounts.iter().map(|a| milestone(*a)).collect(),
            by: did(PROJECT_OWNER),
        })
    }

    fn report(m: u16) -> Instruction {
        funds(FundInstruction::ReportMilestone {
            contract: 0,
            milestone: m,
            report: "done".into(),
            by: did(CONTRACTOR),
        })
    }

    fn review(m: u16, by: u8) -> Instruction {
        funds(FundInstruction::ReviewMilestone {
            contract: 0,
            milestone: m,
            approve: true,
            reason: String::new(),
            by: did(by),
        })
    }

    fn payroll() -> Instruction {
        funds(FundInstruction::FilePayroll {
            subcontract: 1,
            milestone: 0,
            lines: vec![civitas_types::fund::PayrollLine { worker: did(WORKER), amount: 10 }],
            by: did(SUBCONTRACTOR),
        })
    }

    fn funds_world(h: &mut Harness) {
        let open = FundInstruction::OpenProject {
            title: "School".into(),
            purpose: "A school".into(),
            owner: did(PROJECT_OWNER),
            supervisor: did(SUPERVISOR),
            auditor: Some(did(AUDITOR)),
            amount: 500,
            by: did(1),
        };
        ok(h, 1, vec![funds(open)]);
        ok(h, PROJECT_OWNER, vec![award(&[100, 50, 50])]);
        let sub = FundInstruction::Subcontract {
            contract: 0,
            subcontractor: did(SUBCONTRACTOR),
            title: "Brickwork".into(),
            amount: 100,
            by: did(CONTRACTOR),
        };
        ok(
            h,
            CONTRACTOR,
            vec![
                funds(FundInstruction::AcceptContract { contract: 0, by: did(CONTRACTOR) }),
                funds(sub),
                report(0),
                report(1),
            ],
        );
        ok(h, SUBCONTRACTOR, vec![funds(FundInstruction::AcceptContract { contract: 1, by: did(SUBCONTRACTOR) })]);
        ok(h, SUPERVISOR, vec![review(0, SUPERVISOR)]);
        ok(h, AUDITOR, vec![review(0, AUDITOR)]);
        ok(h, SUBCONTRACTOR, vec![payroll()]);
        ok(h, PROJECT_OWNER, vec![award(&[100])]);
    }

    fn device_id(k: u8) -> civitas_types::device::DeviceId {
        civitas_types::device::DeviceId(key(k).public_key())
    }

    /// Registers the device whose DAC key is `dac_seed` of the test PKI and operational key `op`.
    fn register_device(dac_seed: u8, op: u8) -> Instruction {
        use civitas_types::device::passport::registration_challenge;
        let (_, pai) = test_pki();
        let dac_key = TestKey::new(dac_seed);
        let dac = pai.issue(&CertSpec::dac(), &dac_key);
        let possession = dac_key.sign_der(&registration_challenge(CHAIN, &key(op).public_key()));
        Instruction::Devices(DeviceInstruction::RegisterDevice {
            dac,
            operational_key: key(op).public_key(),
            software_version: 2,
            possession,
        })
    }

    /// The device's signature binding it to `owner`.
    fn bind(device: u8, owner: u8) -> Instruction {
        let statement = civitas_types::device::passport::binding_statement(CHAIN, &device_id(device), &did(owner), 0);
        Instruction::Devices(DeviceInstruction::BindDevice {
            device: device_id(device),
            owner: did(owner),
            device_signature: key(device).sign(&statement),
        })
    }

    fn model(pid: u16) -> Instruction {
        use civitas_types::device::Capabilities;
        let capabilities = Capabilities { properties: vec!["fan_speed".into()], actions: vec![], events: vec![] };
        Instruction::Devices(DeviceInstruction::RegisterModel {
            vendor_id: 0xFFF1,
            product_id: pid,
            device_type: 0x7A,
            name: "Range hood".into(),
            capabilities,
            by: did(MANUFACTURER),
        })
    }

    fn version(software_version: u32) -> Instruction {
        Instruction::Devices(DeviceInstruction::AddModelVersion {
            vendor_id: 0xFFF1,
            product_id: 0x8001,
            software_version,
            version_string: format!("1.{software_version}"),
            checksum: Hash([6; 32]),
            ota_url: "https://ota.kitchen.example/hood".into(),
            min_applicable: 0,
            max_applicable: software_version - 1,
            by: did(MANUFACTURER),
        })
    }

    fn test_pki() -> (Ca, Ca) {
        let paa = Ca::root(&CertSpec::paa(), TestKey::new(1));
        let pai = paa.intermediate(&CertSpec::pai(), TestKey::new(2));
        (paa, pai)
    }

    fn ok(h: &mut Harness, signer: u8, instructions: Vec<Instruction>) {
        let outcome = h.run(tx(h, signer, instructions));
        assert_eq!(failed_code(&outcome), None, "setup: {outcome:?}");
    }

    /// A chain where every actor exists as described above, each funded.
    fn world() -> Harness {
        let mut h = harness();
        for k in [STRANGER, OFFICER, RECIPIENT, GATEWAY] {
            ok(&mut h, k, vec![Instruction::Accounts(AccountInstruction::RegisterAccount)]);
        }
        for k in [
            OWNER,
            CONTROLLER,
            STRANGER,
            OFFICER,
            DEPARTMENT,
            TAX,
            PROVIDER,
            MERCHANT,
            EMPLOYER,
            ISSUER,
            MANUFACTURER,
            CERTIFIER,
            RECIPIENT,
            GATEWAY,
            PROJECT_OWNER,
            CONTRACTOR,
            SUBCONTRACTOR,
            SUPERVISOR,
            AUDITOR,
            LANDLORD,
            AGENT,
            HOUSING_BUREAU,
            DATA_OWNER,
            DATA_USER,
            crate::stats::tests::BUREAU,
            TAXI,
            STATS_LEADER,
        ] {
            ok(&mut h, 1, vec![Instruction::Accounts(AccountInstruction::Mint { to: did(k), amount: 10 })]);
        }
        let merchant = Instruction::Invoices(InvoiceInstruction::RegisterMerchant {
            merchant: did(MERCHANT),
            taxpayer_id: "M1".into(),
            address: civitas_types::invoice::PostalAddress::demo(),
            by: did(TAX),
        });
        ok(&mut h, TAX, vec![merchant]);
        for id in ["p-1", "p-2", "p-open"] {
            ok(
                &mut h,
                PROVIDER,
                vec![Instruction::Invoices(InvoiceInstruction::RecordPayment {
                    payment: payment(id),
                    by: did(PROVIDER),
                })],
            );
        }
        ok(&mut h, MERCHANT, vec![invoice("p-1")]);
        ok(&mut h, MERCHANT, vec![invoice("p-2")]);
        ok(
            &mut h,
            OWNER,
            vec![Instruction::Invoices(InvoiceInstruction::SubmitInvoice { number: 2, employer: did(EMPLOYER) })],
        );
        let document = DidDocumentData {
            controllers: vec![did(CONTROLLER)],
            recovery_key_hash: Some(Hash::digest(&key(RECOVERY).public_key().0)),
            ..DidDocumentData::default()
        };
        ok(&mut h, OWNER, vec![Instruction::Dids(DidInstruction::UpdateDid { did: did(OWNER), document })]);
        let officer = Instruction::Orgs(OrgInstruction::SetMember {
            org: did(DEPARTMENT),
            member: did(OFFICER),
            role: Some(OrgRole::Officer),
        });
        ok(&mut h, DEPARTMENT, vec![officer]);
        // Proposal 0, by another member department, waiting for a second approval.
        let accredit = CouncilAction::AccreditIssuer { issuer: did(DEPARTMENT), vct: "permit".into() };
        ok(
            &mut h,
            HOUSING,
            vec![Instruction::Council(CouncilInstruction::Propose {
                action: accredit,
                ttl_blocks: 100,
                by: did(HOUSING),
            })],
        );
        let accredit = CouncilAction::AccreditIssuer { issuer: did(ISSUER), vct: VCT.into() };
        ok(
            &mut h,
            DEPARTMENT,
            vec![Instruction::Council(CouncilInstruction::Propose {
                action: accredit,
                ttl_blocks: 100,
                by: did(DEPARTMENT),
            })],
        );
        ok(&mut h, 12, vec![Instruction::Council(CouncilInstruction::Approve { proposal: 1, by: did(12) })]);
        ok(&mut h, ISSUER, vec![define_type()]);
        let anchor = Instruction::Credentials(CredentialInstruction::AnchorCredential {
            vct: VCT.into(),
            commitment: Hash([2; 32]),
            status_index: 0,
            by: did(ISSUER),
        });
        ok(&mut h, ISSUER, vec![anchor]);
        ok(&mut h, OWNER, vec![grant()]);
        ok(&mut h, OWNER, vec![grant()]);
        ok(
            &mut h,
            ISSUER,
            vec![Instruction::Credentials(CredentialInstruction::ApproveConsent { consent: 1, by: did(ISSUER) })],
        );
        let (paa, pai) = test_pki();
        let claim =
            DeviceInstruction::ClaimVendorId { vendor_id: 0xFFF1, name: "Kitchen".into(), by: did(MANUFACTURER) };
        ok(&mut h, MANUFACTURER, vec![Instruction::Devices(claim)]);
        let add_paa = CouncilAction::AddPaa { certificate: paa.der.clone() };
        ok(
            &mut h,
            DEPARTMENT,
            vec![Instruction::Council(CouncilInstruction::Propose {
                action: add_paa,
                ttl_blocks: 100,
                by: did(DEPARTMENT),
            })],
        );
        ok(&mut h, 12, vec![Instruction::Council(CouncilInstruction::Approve { proposal: 2, by: did(12) })]);
        let add_pai = DeviceInstruction::AddPai { certificate: pai.der, by: did(MANUFACTURER) };
        ok(&mut h, MANUFACTURER, vec![Instruction::Devices(add_pai)]);
        ok(&mut h, MANUFACTURER, vec![model(0x8001), version(2), version(3)]);
        let certify = DeviceInstruction::CertifyModelVersion {
            vendor_id: 0xFFF1,
            product_id: 0x8001,
            software_version: 2,
            certified: true,
            reason: String::new(),
            by: did(CERTIFIER),
        };
        ok(&mut h, CERTIFIER, vec![Instruction::Devices(certify)]);
        ok(&mut h, OWNER, vec![register_device(10, D1), register_device(11, D2), bind(D1, OWNER)]);
        let grant = DeviceInstruction::GrantDevice {
            device: device_id(D1),
            controller: did(CONTROLLER),
            capabilities: vec!["fan_speed".into()],
            not_before: 0,
            not_after: 4_000_000_000,
            scene: "kitchen".into(),
        };
        let offer = DeviceInstruction::OfferDevice { device: device_id(D1), to: did(RECIPIENT) };
        let gateway = LogInstruction::SetLogGateway { device: device_id(D1), gateway: Some(did(GATEWAY)) };
        ok(&mut h, OWNER, vec![Instruction::Devices(grant), Instruction::Devices(offer), Instruction::Logs(gateway)]);
        funds_world(&mut h);
        rentals_world(&mut h);
        catalog_world(&mut h);
        stats_world(&mut h);
        h
    }

    fn stats(i: civitas_types::StatsInstruction) -> Instruction {
        Instruction::Stats(i)
    }

    const STATS_MEASUREMENT: civitas_types::stats::Measurement =
        civitas_types::stats::Measurement::Histogram { length: 4 };

    fn stats_report(round: u64, operator: u8, seq: u8) -> Instruction {
        use crate::stats::tests::report_to;
        let value = civitas_types::stats::vdaf::Value::Bucket(1);
        let sharded = report_to(round, &STATS_MEASUREMENT, (operator, &[STATS_LEADER, STATS_HELPER]), &value, seq);
        stats(sharded.instruction)
    }

    fn stats_world(h: &mut Harness) {
        use civitas_types::StatsInstruction as S;
        crate::stats::tests::publish_keys(h, &[STATS_LEADER, STATS_HELPER]);
        let define = |deadline_blocks| {
            stats(S::DefineRound {
                title: "Trips per district".into(),
                measurement: STATS_MEASUREMENT,
                operators: STATS_OPERATORS.iter().map(|o| did(*o)).collect(),
                aggregators: vec![did(STATS_LEADER), did(STATS_HELPER)],
                min_reports: 3,
                deadline_blocks,
                by: did(crate::stats::tests::BUREAU),
            })
        };
        ok(h, crate::stats::tests::BUREAU, vec![define(100_000), define(3), define(3)]);
        for (i, o) in STATS_OPERATORS.iter().enumerate() {
            let seq = i as u8 * 2;
            ok(h, *o, vec![stats_report(1, *o, seq), stats_report(2, *o, seq + 1)]);
        }
        for _ in 0..4 {
            crate::stats::tests::tick(h);
        }
        for a in [STATS_LEADER, STATS_HELPER] {
            let post = S::PostPrepShares { round: 2, from: 0, shares: vec![vec![], vec![], vec![]], by: did(a) };
            ok(h, a, vec![stats(post)]);
        }
    }

    fn catalog(i: civitas_types::CatalogInstruction) -> Instruction {
        Instruction::Catalog(i)
    }

    fn register_dataset() -> Instruction {
        catalog(civitas_types::CatalogInstruction::RegisterDataset {
            title: "Metro entries by station and hour".into(),
            description: "Gate entries".into(),
            schema: "station,hour,entries".into(),
            content_hash: Hash([4; 32]),
            licence: "CC-BY-4.0".into(),
            endpoint: "https://data.metro.example/entries".into(),
            by: did(DATA_OWNER),
        })
    }

    fn request_access(dataset: u64) -> Instruction {
        catalog(civitas_types::CatalogInstruction::RequestAccess {
            dataset,
            purpose: "Bus network planning".into(),
            days: 30,
            by: did(DATA_USER),
        })
    }

    fn catalog_world(h: &mut Harness) {
        use civitas_types::CatalogInstruction as C;
        ok(h, DATA_OWNER, vec![register_dataset(), register_dataset()]);
        ok(h, DATA_USER, vec![request_access(0), request_access(1)]);
        let grant = C::DecideAccess { request: 0, grant: true, days: 30, reason: String::new(), by: did(DATA_OWNER) };
        ok(h, DATA_OWNER, vec![catalog(grant)]);
    }

    fn rent(i: civitas_types::RentalInstruction) -> Instruction {
        Instruction::Rentals(i)
    }

    /// Property `p`'s certificate (references `P-A` to `P-E`, status entries 10 to 14).
    fn property_certificate(p: u8) -> (String, u32) {
        let index = 10 + u32::from(p);
        (crate::rentals::tests::certificate(LANDLORD, &format!("P-{}", char::from(b'A' + p)), index), index)
    }

    fn rentals_world(h: &mut Harness) {
        use crate::rentals::tests::{anchor, consent, lease_terms, list, present};
        use civitas_types::RentalInstruction as R;
        crate::rentals::tests::housing_setup(h);
        let certs: Vec<(String, u32)> = (0..5).map(property_certificate).collect();
        ok(h, HOUSING_BUREAU, certs.iter().map(|(c, i)| anchor(c, *i)).collect());
        let consent_id = crate::counters::read_u64(&h.store, b"cred/next-consent").expect("read");
        assert_eq!(consent_id, LISTING_CONSENT);
        ok(h, LANDLORD, vec![consent()]);
        let now = h.next_secs();
        let mine = |p: usize| present(&certs[p].0, LANDLORD, &did(LANDLORD), now);
        ok(
            h,
            LANDLORD,
            vec![
                list(mine(0), Some(consent_id), None),
                list(mine(3), Some(consent_id), None),
                list(mine(4), Some(consent_id), None),
            ],
        );
        let by_agent = present(&certs[1].0, LANDLORD, &did(AGENT), now);
        ok(h, AGENT, vec![list(by_agent, Some(consent_id), Some(AGENT))]);
        // Listings: 0 (A), 1 (D), 2 (E), 3 (B, by the agent).
        let offer = |listing, terms| rent(R::OfferLease { listing, tenant: did(TENANT), terms });
        let mut short = lease_terms(0, 1);
        short.end = 43_200;
        short.claim_days = 90;
        ok(
            h,
            LANDLORD,
            vec![
                offer(0, lease_terms(0, 26)),
                offer(3, lease_terms(0, 26)),
                offer(1, lease_terms(0, 26)),
                offer(2, short),
            ],
        );
        // Leases: 0 (A), 1 (B, offered), 2 (D), 3 (E).
        let mut amended = lease_terms(0, 26);
        amended.rent = 11;
        ok(
            h,
            TENANT,
            vec![
                rent(R::SignLease { lease: 0, version: 1 }),
                rent(R::SignLease { lease: 2, version: 1 }),
                rent(R::SignLease { lease: 3, version: 1 }),
                rent(R::PayRent { lease: 0, amount: 200 }),
                rent(R::AmendLease { lease: 0, terms: amended }),
                rent(R::TerminateLease { lease: 2, reason: "moving".into() }),
            ],
        );
        ok(
            h,
            LANDLORD,
            vec![
                rent(R::TerminateLease { lease: 2, reason: "agreed".into() }),
                rent(R::ClaimDeposit { lease: 2, amount: 5, reason: "cleaning".into() }),
            ],
        );
        ok(h, TENANT, vec![rent(R::OpenDispute { lease: 2, reason: "it was clean".into() })]);
        h.advance(civitas_types::rental::DAY_SECS * 1000);
    }

    fn payment(id: &str) -> civitas_types::invoice::Payment {
        civitas_types::invoice::Payment {
            id: id.into(),
            payee: did(MERCHANT),
            amount: 600,
            currency: "CNY".into(),
            paid_at_ms: 0,
            channel: "gate".into(),
            payer_commitment: Hash([1; 32]),
        }
    }

    fn invoice(payment_id: &str) -> Instruction {
        Instruction::Invoices(InvoiceInstruction::IssueInvoice {
            payment_id: payment_id.into(),
            buyer_name: "Individual".into(),
            buyer_taxpayer_id: String::new(),
            buyer: Some(did(OWNER)),
            items: vec![civitas_types::invoice::LineItem {
                description: "fare".into(),
                quantity: 1,
                unit_price: 550,
                tax_rate_bp: 900,
            }],
            by: did(MERCHANT),
        })
    }

    fn define_type() -> Instruction {
        Instruction::Credentials(CredentialInstruction::DefineCredentialType {
            vct: VCT.into(),
            schema: "{\"type\":\"object\"}".into(),
            policy: civitas_types::credential::CredentialPolicy {
                holder_consent: true,
                issuer_approval: true,
                rules: vec![],
            },
            by: did(ISSUER),
        })
    }

    fn grant() -> Instruction {
        Instruction::Credentials(CredentialInstruction::GrantConsent {
            verifier: did(DEPARTMENT),
            issuer: did(ISSUER),
            vct: VCT.into(),
            purpose: "licence".into(),
            claims: vec!["owner".into()],
            ttl_blocks: 100,
            max_uses: 3,
        })
    }

    fn signer_of(actor: Actor) -> u8 {
        match actor {
            Actor::NewKey | Actor::RecoveryKeyHolder => NEW_KEY,
            Actor::Stranger => STRANGER,
            Actor::Owner => OWNER,
            Actor::Controller => CONTROLLER,
            Actor::Finance => 1,
            Actor::OrgAdmin => DEPARTMENT,
            Actor::MarketRegulationOfficer => OFFICER,
            Actor::TaxOfficial => TAX,
            Actor::PaymentProviderOfficial => PROVIDER,
            Actor::MerchantOfficial => MERCHANT,
            Actor::EmployerOfficial => EMPLOYER,
            Actor::IssuerOfficial => ISSUER,
            Actor::ManufacturerOfficial => MANUFACTURER,
            Actor::CertificationOfficial => CERTIFIER,
            Actor::Recipient => RECIPIENT,
            Actor::Gateway => GATEWAY,
            Actor::ProjectOwnerOfficial => PROJECT_OWNER,
            Actor::ContractorOfficial => CONTRACTOR,
            Actor::SubcontractorOfficial => SUBCONTRACTOR,
            Actor::SupervisorOfficial => SUPERVISOR,
            Actor::AuditorOfficial => AUDITOR,
            Actor::Landlord => LANDLORD,
            Actor::Tenant => TENANT,
            Actor::AgentOfficial => AGENT,
            Actor::HousingOfficial => HOUSING_BUREAU,
            Actor::DataOwnerOfficial => DATA_OWNER,
            Actor::DataRequesterOfficial => DATA_USER,
            Actor::TransportOfficial => crate::stats::tests::BUREAU,
            Actor::OperatorOfficial => TAXI,
            Actor::AggregatorOfficial => STATS_LEADER,
        }
    }

    /// The instruction `actor` attempts for `rule`.
    fn attempt(rule: &Rule, actor: Actor) -> Instruction {
        let signer = key(signer_of(actor));
        match rule.instruction {
            "register_account" => Instruction::Accounts(AccountInstruction::RegisterAccount),
            "rotate_key" => {
                let new = key(40);
                let own = Did::from_initial_key(&signer.public_key());
                let proof = new.sign(&AccountInstruction::rotation_message(&own, &new.public_key()));
                Instruction::Accounts(AccountInstruction::RotateKey { new_key: new.public_key(), proof })
            }
            "transfer" => Instruction::Accounts(AccountInstruction::Transfer { to: did(STRANGER), amount: 1 }),
            "mint" => Instruction::Accounts(AccountInstruction::Mint { to: did(STRANGER), amount: 1 }),
            "update_did" => {
                Instruction::Dids(DidInstruction::UpdateDid { did: did(OWNER), document: DidDocumentData::default() })
            }
            "deactivate_did" => Instruction::Dids(DidInstruction::DeactivateDid { did: did(OWNER) }),
            "recover_did" => {
                // Only the recovery key holder has the recovery key; anyone else signs with its own.
                let recovery = if actor == Actor::RecoveryKeyHolder { key(RECOVERY) } else { signer.clone() };
                Instruction::Dids(DidInstruction::RecoverDid {
                    did: did(OWNER),
                    recovery_key: recovery.public_key(),
                    proof: recovery.sign(&DidInstruction::recovery_message(&did(OWNER), &signer.public_key())),
                })
            }
            "register_organization" => Instruction::Orgs(OrgInstruction::RegisterOrganization {
                org: did(CONTROLLER),
                kind: OrgKind::Company,
                name: "Acme".into(),
                by: did(DEPARTMENT),
            }),
            "propose" => Instruction::Council(CouncilInstruction::Propose {
                action: CouncilAction::AccreditIssuer { issuer: did(DEPARTMENT), vct: "licence".into() },
                ttl_blocks: 100,
                by: did(DEPARTMENT),
            }),
            "approve" => Instruction::Council(CouncilInstruction::Approve { proposal: 0, by: did(DEPARTMENT) }),
            "set_member" => Instruction::Orgs(OrgInstruction::SetMember {
                org: did(DEPARTMENT),
                member: did(STRANGER),
                role: Some(OrgRole::Officer),
            }),
            "register_merchant" => Instruction::Invoices(InvoiceInstruction::RegisterMerchant {
                merchant: did(EMPLOYER),
                taxpayer_id: "E1".into(),
                address: civitas_types::invoice::PostalAddress::demo(),
                by: did(TAX),
            }),
            "record_payment" => Instruction::Invoices(InvoiceInstruction::RecordPayment {
                payment: payment("p-new"),
                by: did(PROVIDER),
            }),
            "issue_invoice" => invoice("p-open"),
            "submit_invoice" => {
                Instruction::Invoices(InvoiceInstruction::SubmitInvoice { number: 1, employer: did(EMPLOYER) })
            }
            "reimburse_invoice" => {
                Instruction::Invoices(InvoiceInstruction::ReimburseInvoice { number: 2, by: did(EMPLOYER) })
            }
            "reverse_invoice" => Instruction::Invoices(InvoiceInstruction::ReverseInvoice {
                number: 1,
                reason: "refund".into(),
                by: did(MERCHANT),
            }),
            "define_credential_type" => define_type(),
            "anchor_credential" => Instruction::Credentials(CredentialInstruction::AnchorCredential {
                vct: VCT.into(),
                commitment: Hash([3; 32]),
                status_index: 1,
                by: did(ISSUER),
            }),
            "set_credential_status" => Instruction::Credentials(CredentialInstruction::SetCredentialStatus {
                status_index: 0,
                status: civitas_types::credential::CredentialStatus::Suspended,
                by: did(ISSUER),
            }),
            "grant_consent" => grant(),
            "approve_consent" => {
                Instruction::Credentials(CredentialInstruction::ApproveConsent { consent: 0, by: did(ISSUER) })
            }
            "withdraw_consent" => Instruction::Credentials(CredentialInstruction::WithdrawConsent { consent: 0 }),
            "record_access" => Instruction::Credentials(CredentialInstruction::RecordAccess {
                issuer: did(ISSUER),
                vct: VCT.into(),
                purpose: "licence".into(),
                consent: Some(1),
                holder_ref: Hash([4; 32]),
                presentation: Hash([5; 32]),
                disclosed: vec!["owner".into()],
                outcome: "ok".into(),
                by: did(DEPARTMENT),
            }),
            "claim_vendor_id" => Instruction::Devices(DeviceInstruction::ClaimVendorId {
                vendor_id: 0xFFF3,
                name: "Another brand".into(),
                by: did(MANUFACTURER),
            }),
            "add_pai" => {
                let (paa, _) = test_pki();
                let second = paa.intermediate(&CertSpec { name: "Second PAI", ..CertSpec::pai() }, TestKey::new(6));
                Instruction::Devices(DeviceInstruction::AddPai { certificate: second.der, by: did(MANUFACTURER) })
            }
            "revoke_pai" => Instruction::Devices(DeviceInstruction::RevokePai {
                subject_key_id: TestKey::new(2).key_id(),
                reason: "key compromise".into(),
                by: did(MANUFACTURER),
            }),
            "revoke_dac" => Instruction::Devices(DeviceInstruction::RevokeDac {
                fingerprint: Hash([9; 32]),
                vendor_id: 0xFFF1,
                reason: "cloned".into(),
                by: did(MANUFACTURER),
            }),
            "register_model" => model(0x8002),
            "add_model_version" => version(4),
            "certify_model_version" => Instruction::Devices(DeviceInstruction::CertifyModelVersion {
                vendor_id: 0xFFF1,
                product_id: 0x8001,
                software_version: 3,
                certified: true,
                reason: String::new(),
                by: did(CERTIFIER),
            }),
            "register_device" => register_device(12, 32),
            "bind_device" => bind(D2, signer_of(actor)),
            "offer_device" => {
                Instruction::Devices(DeviceInstruction::OfferDevice { device: device_id(D1), to: did(STRANGER) })
            }
            "accept_device" => Instruction::Devices(DeviceInstruction::AcceptDevice { device: device_id(D1) }),
            "rotate_device_key" => {
                let new_key = key(33).public_key();
                let statement = civitas_types::device::passport::rotation_statement(CHAIN, &device_id(D1), &new_key, 0);
                Instruction::Devices(DeviceInstruction::RotateDeviceKey {
                    device: device_id(D1),
                    new_key,
                    device_signature: key(D1).sign(&statement),
                })
            }
            "set_device_status" => Instruction::Devices(DeviceInstruction::SetDeviceStatus {
                device: device_id(D1),
                status: civitas_types::device::DeviceStatus::Suspended,
            }),
            "grant_device" => Instruction::Devices(DeviceInstruction::GrantDevice {
                device: device_id(D1),
                controller: did(STRANGER),
                capabilities: vec!["fan_speed".into()],
                not_before: 0,
                not_after: 4_000_000_000,
                scene: String::new(),
            }),
            "revoke_grant" => Instruction::Devices(DeviceInstruction::RevokeGrant {
                device: device_id(D1),
                controller: did(CONTROLLER),
            }),
            "set_log_gateway" => {
                Instruction::Logs(LogInstruction::SetLogGateway { device: device_id(D1), gateway: Some(did(STRANGER)) })
            }
            "anchor_events" => {
                let range = civitas_types::log::Range {
                    device: device_id(D1),
                    first_seq: 0,
                    last_seq: 1,
                    last_hash: Hash([5; 32]),
                };
                Instruction::Logs(LogInstruction::AnchorEvents { root: Hash([6; 32]), size: 2, ranges: vec![range] })
            }
            "open_project" => funds(FundInstruction::OpenProject {
                title: "Library".into(),
                purpose: "A library".into(),
                owner: did(PROJECT_OWNER),
                supervisor: did(SUPERVISOR),
                auditor: None,
                amount: 10,
                by: did(1),
            }),
            "appropriate" => funds(FundInstruction::Appropriate { project: 0, amount: 10, by: did(1) }),
            "award_contract" => award(&[10]),
            "accept_contract" => funds(FundInstruction::AcceptContract { contract: 2, by: did(CONTRACTOR) }),
            "subcontract" => funds(FundInstruction::Subcontract {
                contract: 0,
                subcontractor: did(MERCHANT),
                title: "Electrics".into(),
                amount: 10,
                by: did(CONTRACTOR),
            }),
            "report_milestone" => report(2),
            "review_milestone" => review(1, if actor == Actor::AuditorOfficial { AUDITOR } else { SUPERVISOR }),
            "pay_share" => funds(FundInstruction::PayShare {
                contract: 0,
                milestone: 0,
                subcontract: None,
                amount: 10,
                by: did(CONTRACTOR),
            }),
            "file_payroll" => payroll(),
            "approve_payroll" => funds(FundInstruction::ApprovePayroll { payroll: 0, by: did(CONTRACTOR) }),
            "reject_payroll" => {
                funds(FundInstruction::RejectPayroll { payroll: 0, reason: "wrong".into(), by: did(CONTRACTOR) })
            }
            "terminate_contract" => funds(FundInstruction::TerminateContract {
                contract: 0,
                reason: "stopped".into(),
                by: did(PROJECT_OWNER),
            }),
            "list_property" => {
                // Property C: the landlord's key binding for the lister (an agent's official lists
                // for the agent).
                let (lister, by) =
                    if actor == Actor::AgentOfficial { (AGENT, Some(AGENT)) } else { (signer_of(actor), None) };
                let presentation =
                    crate::rentals::tests::present(&property_certificate(2).0, LANDLORD, &did(lister), 86_400);
                crate::rentals::tests::list(presentation, Some(LISTING_CONSENT), by)
            }
            "withdraw_listing" => rent(civitas_types::RentalInstruction::WithdrawListing {
                listing: 3,
                by: (actor == Actor::AgentOfficial).then(|| did(AGENT)),
            }),
            "offer_lease" => rent(civitas_types::RentalInstruction::OfferLease {
                listing: 3,
                tenant: did(TENANT),
                terms: crate::rentals::tests::lease_terms(0, 26),
            }),
            "amend_lease" => rent(civitas_types::RentalInstruction::AmendLease {
                lease: 0,
                terms: crate::rentals::tests::lease_terms(0, 20),
            }),
            // The tenant signs the offer of lease 1; the landlord the tenant's amendment of lease 0.
            "sign_lease" if actor == Actor::Tenant => {
                rent(civitas_types::RentalInstruction::SignLease { lease: 1, version: 1 })
            }
            "sign_lease" => rent(civitas_types::RentalInstruction::SignLease { lease: 0, version: 2 }),
            "pay_rent" => rent(civitas_types::RentalInstruction::PayRent { lease: 0, amount: 1 }),
            "collect_rent" => rent(civitas_types::RentalInstruction::CollectRent { lease: 0 }),
            "terminate_lease" => {
                rent(civitas_types::RentalInstruction::TerminateLease { lease: 0, reason: "moving".into() })
            }
            "open_dispute" => rent(civitas_types::RentalInstruction::OpenDispute { lease: 0, reason: "noise".into() }),
            "decide_dispute" => rent(civitas_types::RentalInstruction::DecideDispute {
                lease: 2,
                terminate: false,
                deposit_to_landlord: Some(5),
                reason: "the claim stands".into(),
                by: did(HOUSING_BUREAU),
            }),
            "claim_deposit" => {
                rent(civitas_types::RentalInstruction::ClaimDeposit { lease: 3, amount: 1, reason: "a stain".into() })
            }
            "accept_claim" => rent(civitas_types::RentalInstruction::AcceptClaim { lease: 2 }),
            "register_dataset" => register_dataset(),
            "update_dataset" => catalog(civitas_types::CatalogInstruction::UpdateDataset {
                dataset: 0,
                content_hash: Hash([5; 32]),
                endpoint: "https://data.metro.example/entries/v2".into(),
                by: did(DATA_OWNER),
            }),
            "retire_dataset" => {
                catalog(civitas_types::CatalogInstruction::RetireDataset { dataset: 0, by: did(DATA_OWNER) })
            }
            "request_access" => request_access(0),
            "decide_access" => catalog(civitas_types::CatalogInstruction::DecideAccess {
                request: 1,
                grant: true,
                days: 10,
                reason: String::new(),
                by: did(DATA_OWNER),
            }),
            "revoke_access" => catalog(civitas_types::CatalogInstruction::RevokeAccess {
                request: 0,
                reason: "misuse".into(),
                by: did(DATA_OWNER),
            }),
            "record_use" => catalog(civitas_types::CatalogInstruction::RecordUse {
                request: 0,
                note: "weekly model run".into(),
                by: did(DATA_USER),
            }),
            "define_round" => stats(civitas_types::StatsInstruction::DefineRound {
                title: "Boardings per stop".into(),
                measurement: STATS_MEASUREMENT,
                operators: STATS_OPERATORS.iter().map(|o| did(*o)).collect(),
                aggregators: vec![did(STATS_LEADER), did(STATS_HELPER)],
                min_reports: 3,
                deadline_blocks: 10,
                by: did(crate::stats::tests::BUREAU),
            }),
            "share_verify_key" => stats(civitas_types::StatsInstruction::ShareVerifyKey {
                round: 0,
                sealed: vec![vec![3; 80]],
                by: did(STATS_LEADER),
            }),
            "submit_report" => stats_report(0, TAXI, 40),
            "post_prep_shares" => stats(civitas_types::StatsInstruction::PostPrepShares {
                round: 1,
                from: 0,
                shares: vec![vec![]],
                by: did(STATS_LEADER),
            }),
            "post_aggregate_share" => stats(civitas_types::StatsInstruction::PostAggregateShare {
                round: 2,
                reports: 0,
                share: vec![0; 64],
                by: did(STATS_LEADER),
            }),
            other => panic!("the table names `{other}`, which this test does not know how to attempt"),
        }
    }

    use civitas_types::Did;

    fn run_as(h: &Harness, actor: Actor, instruction: Instruction) -> TxOutcome {
        let signer = key(signer_of(actor));
        let nonce = match (actor, &instruction) {
            (Actor::NewKey, _) => 0,
            (Actor::RecoveryKeyHolder, _) => h.nonce(OWNER),
            _ => h.nonce(signer_of(actor)),
        };
        let t = Transaction {
            chain_id: CHAIN.into(),
            signer: signer.public_key(),
            nonce,
            valid_until_height: h.height() + 10,
            instructions: vec![instruction],
        };
        h.try_run(VerifiedTransaction::check(t.sign(&signer), CHAIN).expect("well-formed"))
    }

    #[test]
    fn every_instruction_under_every_actor_is_allowed_exactly_as_the_table_says() {
        let names: Vec<&str> = table().map(|r| r.instruction).collect();
        for probe in Instruction::names() {
            assert!(names.contains(&probe), "instruction `{probe}` has no row in the permission table");
        }
        // Every (instruction, actor) case against the same prepared chain, each attempt executed
        // and never committed (so no case sees another's effects); the cases run on all cores,
        // each thread with its own chain.
        let cases: Vec<(&Rule, Actor)> =
            table().flat_map(|rule| Actor::ALL.into_iter().map(move |actor| (rule, actor))).collect();
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let failures: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = cases
                .chunks(cases.len().div_ceil(threads))
                .map(|chunk| {
                    s.spawn(move || {
                        let h = world();
                        chunk
                            .iter()
                            .filter_map(|(rule, actor)| {
                                let outcome = run_as(&h, *actor, attempt(rule, *actor));
                                let allowed = rule.allowed.contains(actor);
                                (failed_code(&outcome).is_none() != allowed).then(|| {
                                    format!(
                                        "{} by {actor:?}: expected {}, got {outcome:?}",
                                        rule.instruction,
                                        if allowed { "allowed" } else { "denied" },
                                    )
                                })
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("a case panicked")).collect()
        });
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn the_document_matches_the_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/permissions.md");
        let rendered = render_markdown();
        if std::env::var("CIVITAS_BLESS").is_ok() {
            std::fs::write(&path, &rendered).expect("write docs/permissions.md");
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(on_disk, rendered, "docs/permissions.md is stale: run with CIVITAS_BLESS=1");
    }
}
