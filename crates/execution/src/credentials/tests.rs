use civitas_types::council::CouncilAction;
use civitas_types::credential::{Approval, CredentialPolicy, CredentialStatus, DisclosureRule};
use civitas_types::org::OrgKind;
use civitas_types::{CouncilInstruction, CredentialInstruction};
use civitas_types::{Hash, Instruction};

use super::query;
use crate::tests::{Harness, did, failed_code, harness, tx};

const MARKET: u8 = 10;
const HOUSING: u8 = 11;
const CIVIL: u8 = 12;
const RESIDENT: u8 = 2;
const STRANGER: u8 = 3;
const PERMIT: &str = "https://civitas.example/vct/residence-permit";
const PROPERTY: &str = "https://civitas.example/vct/property-certificate";
const PURPOSE: &str = "business licence application";

fn ok(h: &mut Harness, signer: u8, i: Instruction) {
    let outcome = h.run(tx(h, signer, vec![i]));
    assert_eq!(failed_code(&outcome), None, "{outcome:?}");
}

fn code(h: &mut Harness, signer: u8, i: Instruction) -> Option<String> {
    let outcome = h.run(tx(h, signer, vec![i]));
    failed_code(&outcome).map(str::to_owned)
}

/// Civil affairs accredited for residence permits (consent and issuer approval required;
/// departments may see the name and permit number), housing for property certificates
/// (consent required, no approval, any claim); one of each anchored at entry 0.
fn issuers() -> Harness {
    let mut h = harness();
    for (n, (issuer, vct)) in [(CIVIL, PERMIT), (HOUSING, PROPERTY)].into_iter().enumerate() {
        let accredit = CouncilAction::AccreditIssuer { issuer: did(issuer), vct: vct.into() };
        ok(
            &mut h,
            MARKET,
            Instruction::Council(CouncilInstruction::Propose { action: accredit, ttl_blocks: 10, by: did(MARKET) }),
        );
        ok(&mut h, issuer, Instruction::Council(CouncilInstruction::Approve { proposal: n as u64, by: did(issuer) }));
    }
    let permit_policy = CredentialPolicy {
        holder_consent: true,
        issuer_approval: true,
        rules: vec![DisclosureRule {
            verifier_kind: OrgKind::Department,
            claims: vec!["given_name".into(), "family_name".into(), "permit_number".into()],
        }],
    };
    let property_policy = CredentialPolicy { holder_consent: true, ..CredentialPolicy::default() };
    for (issuer, vct, policy) in [(CIVIL, PERMIT, permit_policy), (HOUSING, PROPERTY, property_policy)] {
        let schema = "{\"type\":\"object\"}".to_owned();
        ok(
            &mut h,
            issuer,
            Instruction::Credentials(CredentialInstruction::DefineCredentialType {
                vct: vct.into(),
                schema,
                policy,
                by: did(issuer),
            }),
        );
        let anchor = Instruction::Credentials(CredentialInstruction::AnchorCredential {
            vct: vct.into(),
            commitment: Hash::digest(vct.as_bytes()),
            status_index: 0,
            by: did(issuer),
        });
        ok(&mut h, issuer, anchor);
    }
    h
}

fn grant(issuer: u8, vct: &str, claims: &[&str], max_uses: u32) -> Instruction {
    Instruction::Credentials(CredentialInstruction::GrantConsent {
        verifier: did(MARKET),
        issuer: did(issuer),
        vct: vct.into(),
        purpose: PURPOSE.into(),
        claims: claims.iter().map(|c| (*c).to_owned()).collect(),
        ttl_blocks: 100,
        max_uses,
    })
}

fn access(issuer: u8, vct: &str, consent: Option<u64>, disclosed: &[&str], outcome: &str) -> Instruction {
    Instruction::Credentials(CredentialInstruction::RecordAccess {
        issuer: did(issuer),
        vct: vct.into(),
        purpose: PURPOSE.into(),
        consent,
        holder_ref: holder_ref(),
        presentation: Hash::digest(outcome.as_bytes()),
        disclosed: disclosed.iter().map(|c| (*c).to_owned()).collect(),
        outcome: outcome.into(),
        by: did(MARKET),
    })
}

fn holder_ref() -> Hash {
    Hash::digest(b"the resident's holder key thumbprint")
}

#[test]
fn run_at_most_once_two_credentials_verified_under_consent_then_revocation_and_withdrawal_stop_it() {
    let mut h = issuers();
    // The resident consents that market regulation see two claims of the permit, once; the
    // permit's policy needs civil affairs to approve that.
    ok(&mut h, RESIDENT, grant(CIVIL, PERMIT, &["given_name", "permit_number"], 1));
    assert_eq!(query::consent(&h.store, 0).expect("read").expect("consent").approval, Approval::Pending);
    let permit_access = || access(CIVIL, PERMIT, Some(0), &["given_name", "permit_number"], "ok");
    assert_eq!(code(&mut h, MARKET, permit_access()), Some("consent_not_approved".to_owned()));
    ok(&mut h, CIVIL, Instruction::Credentials(CredentialInstruction::ApproveConsent { consent: 0, by: did(CIVIL) }));
    ok(&mut h, MARKET, permit_access());
    // The property certificate: consent without approval.
    ok(&mut h, RESIDENT, grant(HOUSING, PROPERTY, &["owner", "parcel"], 5));
    ok(&mut h, MARKET, access(HOUSING, PROPERTY, Some(1), &["owner"], "ok"));
    // Once means once.
    assert_eq!(code(&mut h, MARKET, permit_access()), Some("consent_used_up".to_owned()));
    // Civil affairs revokes the permit (for good); the verifier's failed check is logged, and
    // uses no consent.
    let revoke = Instruction::Credentials(CredentialInstruction::SetCredentialStatus {
        status_index: 0,
        status: CredentialStatus::Revoked,
        by: did(CIVIL),
    });
    ok(&mut h, CIVIL, revoke);
    assert_eq!(query::status(&h.store, &did(CIVIL), 0).expect("read"), CredentialStatus::Revoked);
    let reinstate = Instruction::Credentials(CredentialInstruction::SetCredentialStatus {
        status_index: 0,
        status: CredentialStatus::Valid,
        by: did(CIVIL),
    });
    assert_eq!(code(&mut h, CIVIL, reinstate), Some("credential_revoked".to_owned()));
    ok(&mut h, MARKET, access(CIVIL, PERMIT, Some(0), &[], "credential_revoked"));
    // The resident withdraws the property consent: the next use fails.
    assert_eq!(
        code(&mut h, STRANGER, Instruction::Credentials(CredentialInstruction::WithdrawConsent { consent: 1 })),
        Some("not_the_holder".to_owned())
    );
    ok(&mut h, RESIDENT, Instruction::Credentials(CredentialInstruction::WithdrawConsent { consent: 1 }));
    assert_eq!(
        code(&mut h, MARKET, access(HOUSING, PROPERTY, Some(1), &["owner"], "ok")),
        Some("consent_withdrawn".to_owned())
    );
    // The resident's access log shows exactly the verifications that happened.
    let (entries, next) = query::access_about(&h.store, &holder_ref(), 0, 10).expect("read");
    assert_eq!(next, None);
    let seen: Vec<(&str, &str, Option<u64>)> =
        entries.iter().map(|(_, e)| (e.vct.as_str(), e.outcome.as_str(), e.consent)).collect();
    assert_eq!(seen, vec![(PERMIT, "ok", Some(0)), (PROPERTY, "ok", Some(1)), (PERMIT, "credential_revoked", Some(0))]);
    assert!(entries.iter().all(|(_, e)| e.verifier == did(MARKET) && e.official == did(MARKET)));
    assert_eq!(query::access_by(&h.store, &did(MARKET), 0, 10).expect("read").0.len(), 3);
    let (consents, _) = query::consents_of(&h.store, &did(RESIDENT), 0, 10).expect("read");
    assert_eq!(
        consents.iter().map(|(_, c)| (c.uses, c.withdrawn.is_some())).collect::<Vec<_>>(),
        vec![(1, false), (1, true)]
    );
}

#[test]
fn bad_credential_acts_fail_with_clear_codes_and_change_nothing() {
    let mut h = issuers();
    // Only an accredited issuer defines a type; anchors need a type and a free entry; status
    // changes need an anchored credential.
    let define = |vct: &str, by: u8| {
        Instruction::Credentials(CredentialInstruction::DefineCredentialType {
            vct: vct.into(),
            schema: "{}".into(),
            policy: CredentialPolicy::default(),
            by: did(by),
        })
    };
    assert_eq!(code(&mut h, HOUSING, define(PERMIT, HOUSING)), Some("not_accredited".to_owned()));
    assert_eq!(code(&mut h, STRANGER, define(PROPERTY, HOUSING)), Some("not_an_official".to_owned()));
    let bad_schema = Instruction::Credentials(CredentialInstruction::DefineCredentialType {
        vct: PROPERTY.into(),
        schema: String::new(),
        policy: CredentialPolicy::default(),
        by: did(HOUSING),
    });
    assert_eq!(code(&mut h, HOUSING, bad_schema), Some("bad_field".to_owned()));
    let anchor = |vct: &str, index: u32| {
        Instruction::Credentials(CredentialInstruction::AnchorCredential {
            vct: vct.into(),
            commitment: Hash([7; 32]),
            status_index: index,
            by: did(HOUSING),
        })
    };
    assert_eq!(code(&mut h, HOUSING, anchor(PERMIT, 1)), Some("unknown_credential_type".to_owned()));
    assert_eq!(code(&mut h, HOUSING, anchor(PROPERTY, 0)), Some("bad_status_index".to_owned()), "entry 0 is taken");
    assert_eq!(code(&mut h, HOUSING, anchor(PROPERTY, 1 << 20)), Some("bad_status_index".to_owned()));
    let suspend = Instruction::Credentials(CredentialInstruction::SetCredentialStatus {
        status_index: 9,
        status: CredentialStatus::Suspended,
        by: did(HOUSING),
    });
    assert_eq!(code(&mut h, HOUSING, suspend), Some("unanchored_credential".to_owned()));
    assert!(query::anchor(&h.store, &did(HOUSING), 1).expect("read").is_none());
    // Consents: claims the policy keeps from this kind of verifier, malformed fields, unknown
    // types.
    assert_eq!(code(&mut h, RESIDENT, grant(CIVIL, PERMIT, &["address"], 1)), Some("policy_forbids".to_owned()));
    assert_eq!(code(&mut h, RESIDENT, grant(CIVIL, PERMIT, &[], 1)), Some("bad_field".to_owned()));
    assert_eq!(code(&mut h, RESIDENT, grant(CIVIL, PERMIT, &["given name"], 1)), Some("bad_field".to_owned()));
    assert_eq!(code(&mut h, RESIDENT, grant(CIVIL, PERMIT, &["given_name"], 0)), Some("bad_field".to_owned()));
    assert_eq!(
        code(&mut h, RESIDENT, grant(HOUSING, PERMIT, &["given_name"], 1)),
        Some("unknown_credential_type".to_owned())
    );
    assert!(query::consent(&h.store, 0).expect("read").is_none());
    // Approvals only by the issuer, only while pending.
    ok(&mut h, RESIDENT, grant(CIVIL, PERMIT, &["given_name"], 2));
    assert_eq!(
        code(
            &mut h,
            HOUSING,
            Instruction::Credentials(CredentialInstruction::ApproveConsent { consent: 0, by: did(HOUSING) })
        ),
        Some("permission_denied".to_owned())
    );
    assert_eq!(
        code(
            &mut h,
            CIVIL,
            Instruction::Credentials(CredentialInstruction::ApproveConsent { consent: 7, by: did(CIVIL) })
        ),
        Some("unknown_consent".to_owned())
    );
    ok(&mut h, CIVIL, Instruction::Credentials(CredentialInstruction::ApproveConsent { consent: 0, by: did(CIVIL) }));
    assert_eq!(
        code(
            &mut h,
            CIVIL,
            Instruction::Credentials(CredentialInstruction::ApproveConsent { consent: 0, by: did(CIVIL) })
        ),
        Some("consent_not_pending".to_owned())
    );
    // Access: without consent where required, for another purpose, for claims not consented,
    // a malformed outcome, by someone who is not the verifier's official.
    assert_eq!(
        code(&mut h, MARKET, access(CIVIL, PERMIT, None, &["given_name"], "ok")),
        Some("policy_forbids".to_owned())
    );
    let mut other_purpose = access(CIVIL, PERMIT, Some(0), &["given_name"], "ok");
    if let Instruction::Credentials(CredentialInstruction::RecordAccess { purpose, .. }) = &mut other_purpose {
        *purpose = "marketing".into();
    }
    assert_eq!(code(&mut h, MARKET, other_purpose), Some("consent_mismatch".to_owned()));
    assert_eq!(
        code(&mut h, MARKET, access(CIVIL, PERMIT, Some(0), &["given_name", "family_name"], "ok")),
        Some("consent_mismatch".to_owned())
    );
    assert_eq!(
        code(&mut h, MARKET, access(CIVIL, PERMIT, Some(0), &["given_name"], "Bad Outcome!")),
        Some("bad_field".to_owned())
    );
    assert_eq!(
        code(&mut h, STRANGER, access(CIVIL, PERMIT, Some(0), &["given_name"], "ok")),
        Some("not_an_official".to_owned())
    );
    assert_eq!(query::consent(&h.store, 0).expect("read").expect("consent").uses, 0, "no use was counted");
    assert!(query::access_about(&h.store, &holder_ref(), 0, 10).expect("read").0.is_empty());
}
