//! Device passports (see `civitas_types::device`). The roots of trust: a manufacturer claims
//! vendor ids; the council approves (and revokes) Product Attestation Authorities; a vendor
//! adds the Product Attestation Intermediates its PAAs issued, checked against the Matter
//! profile, the PAA's signature and the block's time, and revokes them or single device
//! certificates. Revocations are final and provable, present or absent. Models, their
//! software versions and certification; then, in [`passports`], the devices themselves:
//! registration against the attestation chain, owners, transfers, key rotation, status, and
//! the grants that let another brand's controller use named capabilities.

mod error;
pub(crate) mod passports;
pub use error::Error;

/// Who may perform each of this module's instructions (rendered into `docs/permissions.md`;
/// the permission test runs each under every kind of actor).
pub(crate) const PERMISSIONS: &[Rule] = &[
    Rule {
        instruction: "claim_vendor_id",
        target: "a vendor id, for the manufacturer",
        allowed: &[Actor::ManufacturerOfficial],
    },
    Rule {
        instruction: "add_pai",
        target: "an attestation intermediate of one of the manufacturer's vendor ids",
        allowed: &[Actor::ManufacturerOfficial],
    },
    Rule {
        instruction: "revoke_pai",
        target: "an attestation intermediate of one of the manufacturer's vendor ids",
        allowed: &[Actor::ManufacturerOfficial],
    },
    Rule {
        instruction: "revoke_dac",
        target: "a device certificate of one of the manufacturer's vendor ids",
        allowed: &[Actor::ManufacturerOfficial],
    },
    Rule {
        instruction: "register_model",
        target: "a device model of one of the manufacturer's vendor ids",
        allowed: &[Actor::ManufacturerOfficial],
    },
    Rule {
        instruction: "add_model_version",
        target: "a software version of one of the manufacturer's models",
        allowed: &[Actor::ManufacturerOfficial],
    },
    Rule {
        instruction: "certify_model_version",
        target: "a model version's certification",
        allowed: &[Actor::CertificationOfficial],
    },
    Rule {
        instruction: "register_device",
        target: "a device, with its attestation and proof of possession",
        allowed: ANY_ACCOUNT,
    },
    Rule {
        instruction: "bind_device",
        target: "an unbound device, for the signer, with the device's signature",
        allowed: ANY_ACCOUNT,
    },
    Rule { instruction: "offer_device", target: "a device's transfer", allowed: &[Actor::Owner] },
    Rule { instruction: "accept_device", target: "a device offered to the signer", allowed: &[Actor::Recipient] },
    Rule {
        instruction: "rotate_device_key",
        target: "a device's operational key, with the current key's signature",
        allowed: &[Actor::Owner],
    },
    Rule { instruction: "set_device_status", target: "a device's status", allowed: &[Actor::Owner] },
    Rule { instruction: "grant_device", target: "a device's capabilities, for a controller", allowed: &[Actor::Owner] },
    Rule { instruction: "revoke_grant", target: "a grant on a device", allowed: &[Actor::Owner] },
];

pub mod query;

use civitas_state::{StateRead, TxState};
use civitas_types::codec::Encode as _;
use civitas_types::device::attestation::{self, AttestationCert, Level};
use civitas_types::device::list::{revoked_certificate_entry, revoked_dac_entry};
use civitas_types::device::{
    CertLevel, Certification, DeviceInstruction, DeviceList, KEY_ID_BYTES, MODEL_NAME_BYTES_MAX, Model, ModelVersion,
    OTA_URL_BYTES_MAX, REVOCATION_REASON_BYTES_MAX, Revocation, TrustedCert, VENDOR_NAME_BYTES_MAX,
    VERSION_STRING_BYTES_MAX, Vendor, cert_key, model_key, model_version_key, revoked_cert_key, revoked_dac_key,
    vendor_key,
};
use civitas_types::org::{OrgFunction, OrgKind};
use civitas_types::{Did, Hash, text_ok};

use crate::permissions::{ANY_ACCOUNT, Actor, Rule};
use crate::{BlockContext, Context, ExecError, OfficialAct, Outcome, audited, orgs, unaudited};

/// Appends `entry` to `list`.
fn append(state: &mut TxState<'_, '_>, list: DeviceList, entry: Vec<u8>) -> Outcome {
    let position = crate::counters::next(state, &list.count_key())?;
    state.put(list.entry_key(position), entry);
    Ok(())
}

/// The block's time in unix seconds: what certificates are valid at.
fn now(ctx: BlockContext) -> u64 {
    ctx.timestamp_ms / 1000
}

/// The signer is an official of `by`, a manufacturer.
fn manufacturer(state: &impl StateRead, cx: &Context<'_>, by: &Did) -> Outcome<OfficialAct> {
    orgs::official_of(state, cx, by, |o| o.kind == OrgKind::Manufacturer, "manufacturer")
}

/// `by` holds vendor id `vid`.
fn holds(state: &impl StateRead, vid: u16, by: &Did) -> Outcome {
    match query::vendor(state, vid)? {
        None => Err(Error::UnknownVendor(vid).into()),
        Some(v) if v.org != *by => Err(Error::NotTheVendor(vid).into()),
        Some(_) => Ok(()),
    }
}

fn reason_ok(reason: &str) -> Outcome {
    if !text_ok(reason, REVOCATION_REASON_BYTES_MAX) {
        return Err(ExecError::BadField("reason (1 to 256 bytes, no control characters)").into());
    }
    Ok(())
}

/// A trusted PAA, parsed, not revoked, valid at `now`.
fn trusted_paa(state: &impl StateRead, key_id: &[u8], now: u64) -> Outcome<AttestationCert> {
    let Some(record) = query::certificate(state, key_id)?.filter(|c| c.level == CertLevel::Paa) else {
        return Err(Error::UnknownRoot.into());
    };
    if query::certificate_revocation(state, key_id)?.is_some() {
        return Err(Error::Revoked("the PAA").into());
    }
    let paa = attestation::parse(&record.der, Level::Paa).map_err(Error::from)?;
    paa.check_validity(now).map_err(Error::from)?;
    Ok(paa)
}

/// `claim_vendor_id`: manufacturer `by` takes vendor id `vid`. Permission: an official of `by`.
pub(crate) fn claim_vendor_id(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (vid, name, by): (u16, &str, &Did),
) -> Outcome<OfficialAct> {
    let act = manufacturer(state, cx, by)?;
    if !text_ok(name, VENDOR_NAME_BYTES_MAX) {
        return Err(ExecError::BadField("vendor name (1 to 128 bytes, no control characters)").into());
    }
    if vid == 0 || query::vendor(state, vid)?.is_some() {
        return Err(Error::VendorIdTaken(vid).into());
    }
    state.put(vendor_key(vid), Vendor { org: *by, name: name.to_owned(), height: cx.block.height }.encode());
    Ok(act)
}

/// `add_pai`: trusts a PAI of one of `by`'s vendor ids, issued by a trusted PAA, valid now.
/// Permission: an official of `by`, a manufacturer holding the PAI's vendor id.
pub(crate) fn add_pai(state: &mut TxState<'_, '_>, cx: &Context<'_>, (der, by): (&[u8], &Did)) -> Outcome<OfficialAct> {
    let act = manufacturer(state, cx, by)?;
    let pai = attestation::parse(der, Level::Pai).map_err(Error::from)?;
    let vid = pai.vendor_id.ok_or(Error::Attestation(attestation::AttestationError::Profile("PAI", "no vendor id")))?;
    holds(state, vid, by)?;
    let issuer_key_id = pai.authority_key_id.clone().ok_or(Error::UnknownRoot)?;
    let now = now(cx.block);
    let paa = trusted_paa(state, &issuer_key_id, now)?;
    pai.check_issued_by(&paa).map_err(Error::from)?;
    pai.check_validity(now).map_err(Error::from)?;
    if paa.vendor_id.is_some_and(|v| v != vid) {
        let why = format!("PAI {vid:04X}, PAA {:04X?}", paa.vendor_id);
        return Err(Error::Attestation(attestation::AttestationError::VendorMismatch(why)).into());
    }
    if query::certificate_revocation(state, &pai.subject_key_id)?.is_some() {
        return Err(Error::Revoked("the PAI").into());
    }
    if query::certificate(state, &pai.subject_key_id)?.is_some() {
        return Err(Error::AlreadyTrusted.into());
    }
    let record = TrustedCert {
        level: CertLevel::Pai,
        der: der.to_vec(),
        vendor_id: Some(vid),
        issuer_key_id: Some(issuer_key_id),
        height: cx.block.height,
        by: *by,
    };
    state.put(cert_key(&pai.subject_key_id), record.encode());
    append(state, DeviceList::Pais(vid), pai.subject_key_id)?;
    Ok(act)
}

/// `revoke_pai`: revokes a PAI of one of `by`'s vendor ids, for good. Permission: an official
/// of `by`, the manufacturer holding the PAI's vendor id.
pub(crate) fn revoke_pai(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (key_id, reason, by): (&[u8], &str, &Did),
) -> Outcome<OfficialAct> {
    let act = manufacturer(state, cx, by)?;
    reason_ok(reason)?;
    let Some(pai) = query::certificate(state, key_id)?.filter(|c| c.level == CertLevel::Pai) else {
        return Err(Error::UnknownCertificate("PAI").into());
    };
    holds(state, pai.vendor_id.unwrap_or(0), by)?;
    if query::certificate_revocation(state, key_id)?.is_some() {
        return Err(Error::Revoked("the PAI").into());
    }
    let revocation = Revocation { reason: reason.to_owned(), by: *by, height: cx.block.height };
    state.put(revoked_cert_key(key_id), revocation.encode());
    append(state, DeviceList::Revocations, revoked_certificate_entry(key_id))?;
    Ok(act)
}

/// `revoke_dac`: revokes one device certificate of vendor id `vid`, for good. Permission: an
/// official of `by`, the manufacturer holding `vid`.
pub(crate) fn revoke_dac(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (fingerprint, vid, reason, by): (&Hash, u16, &str, &Did),
) -> Outcome<OfficialAct> {
    let act = manufacturer(state, cx, by)?;
    reason_ok(reason)?;
    holds(state, vid, by)?;
    if query::dac_revocation(state, fingerprint)?.is_some() {
        return Err(Error::Revoked("the device certificate").into());
    }
    let revocation = Revocation { reason: reason.to_owned(), by: *by, height: cx.block.height };
    state.put(revoked_dac_key(fingerprint), revocation.encode());
    append(state, DeviceList::Revocations, revoked_dac_entry(fingerprint))?;
    passports::revoke_registered(state, fingerprint)?;
    Ok(act)
}

/// `register_model`: registers `model` as `vid`/`pid`. Permission: an official of `by`, the
/// manufacturer holding `vid`.
pub(crate) fn register_model(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (vid, pid, model, by): (u16, u16, Model, &Did),
) -> Outcome<OfficialAct> {
    let act = manufacturer(state, cx, by)?;
    holds(state, vid, by)?;
    if !text_ok(&model.name, MODEL_NAME_BYTES_MAX) {
        return Err(ExecError::BadField("model name (1 to 128 bytes, no control characters)").into());
    }
    if !model.capabilities.well_formed() {
        return Err(ExecError::BadField(
            "capabilities (at least one; names of 1 to 64 of a-z 0-9 _, each once across properties, actions and events)",
        )
        .into());
    }
    if query::model(state, vid, pid)?.is_some() {
        return Err(Error::ModelExists.into());
    }
    state.put(model_key(vid, pid), model.encode());
    append(state, DeviceList::Models(vid), pid.to_be_bytes().to_vec())?;
    Ok(act)
}

/// `add_model_version`: adds `version` (not certified) as software version `software_version`
/// of one of `by`'s models. Permission: an official of `by`, the manufacturer holding the
/// model's vendor id.
pub(crate) fn add_model_version(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (vid, pid, software_version, version, by): (u16, u16, u32, ModelVersion, &Did),
) -> Outcome<OfficialAct> {
    let act = manufacturer(state, cx, by)?;
    holds(state, vid, by)?;
    if query::model(state, vid, pid)?.is_none() {
        return Err(Error::UnknownModel(vid, pid).into());
    }
    if !text_ok(&version.version_string, VERSION_STRING_BYTES_MAX) {
        return Err(ExecError::BadField("version string (1 to 64 bytes, no control characters)").into());
    }
    let url = &version.ota_url;
    let url_ok = url.len() <= OTA_URL_BYTES_MAX
        && url.strip_prefix("https://").is_some_and(|rest| !rest.is_empty())
        && url.bytes().all(|b| b.is_ascii_graphic());
    if !url_ok {
        return Err(ExecError::BadField("ota_url (an https:// URL of at most 512 printable characters)").into());
    }
    if version.min_applicable > version.max_applicable || version.max_applicable >= software_version {
        return Err(ExecError::BadField("applicable versions (min <= max < the new version)").into());
    }
    if query::model_version(state, vid, pid, software_version)?.is_some() {
        return Err(Error::ModelVersionExists.into());
    }
    state.put(model_version_key(vid, pid, software_version), version.encode());
    append(state, DeviceList::Versions(vid, pid), software_version.to_be_bytes().to_vec())?;
    Ok(act)
}

/// `certify_model_version`: certifies a model version, or revokes its certification for good.
/// Permission: an official of `by`, a department with the certification function.
pub(crate) fn certify_model_version(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (vid, pid, software_version, certified, reason, by): (u16, u16, u32, bool, &str, &Did),
) -> Outcome<OfficialAct> {
    let body = |o: &civitas_types::org::Organization| {
        o.kind == OrgKind::Department && o.functions.contains(&OrgFunction::Certification)
    };
    let act = orgs::official_of(state, cx, by, body, "certification")?;
    let Some(mut version) = query::model_version(state, vid, pid, software_version)? else {
        return Err(Error::UnknownModelVersion(vid, pid, software_version).into());
    };
    let height = cx.block.height;
    version.certification = match (&version.certification, certified) {
        (Certification::Revoked { .. }, _) => return Err(Error::CertificationRevoked.into()),
        (Certification::Certified { .. }, true) => return Err(Error::AlreadyCertified.into()),
        (Certification::None, false) => return Err(Error::NotCertified.into()),
        (Certification::None, true) => Certification::Certified { by: *by, height },
        (Certification::Certified { .. }, false) => {
            reason_ok(reason)?;
            Certification::Revoked { by: *by, height, reason: reason.to_owned() }
        }
    };
    state.put(model_version_key(vid, pid, software_version), version.encode());
    Ok(act)
}

/// The council's `add_paa`, before it passes: a PAA (profile, self-signed, valid now) not yet
/// trusted nor revoked.
pub(crate) fn check_add_paa(state: &impl StateRead, der: &[u8], ctx: BlockContext) -> Outcome<AttestationCert> {
    let paa = attestation::parse(der, Level::Paa).map_err(Error::from)?;
    paa.check_issued_by(&paa).map_err(Error::from)?;
    paa.check_validity(now(ctx)).map_err(Error::from)?;
    if query::certificate_revocation(state, &paa.subject_key_id)?.is_some() {
        return Err(Error::Revoked("the PAA").into());
    }
    if query::certificate(state, &paa.subject_key_id)?.is_some() {
        return Err(Error::AlreadyTrusted.into());
    }
    Ok(paa)
}

/// The council's `add_paa`, passed: trusts the PAA.
pub(crate) fn add_paa(state: &mut TxState<'_, '_>, der: &[u8], by: &Did, ctx: BlockContext) -> Outcome {
    let paa = check_add_paa(state, der, ctx)?;
    let record = TrustedCert {
        level: CertLevel::Paa,
        der: der.to_vec(),
        vendor_id: paa.vendor_id,
        issuer_key_id: None,
        height: ctx.height,
        by: *by,
    };
    state.put(cert_key(&paa.subject_key_id), record.encode());
    append(state, DeviceList::Paas, paa.subject_key_id)?;
    Ok(())
}

/// The council's `revoke_paa`, before it passes: a trusted PAA, not revoked, and a reason.
pub(crate) fn check_revoke_paa(state: &impl StateRead, key_id: &[u8], reason: &str) -> Outcome {
    reason_ok(reason)?;
    if key_id.len() != KEY_ID_BYTES || query::certificate(state, key_id)?.is_none_or(|c| c.level != CertLevel::Paa) {
        return Err(Error::UnknownCertificate("PAA").into());
    }
    if query::certificate_revocation(state, key_id)?.is_some() {
        return Err(Error::Revoked("the PAA").into());
    }
    Ok(())
}

/// The council's `revoke_paa`, passed: revokes the PAA.
pub(crate) fn revoke_paa(
    state: &mut TxState<'_, '_>,
    key_id: &[u8],
    reason: &str,
    by: &Did,
    ctx: BlockContext,
) -> Outcome {
    check_revoke_paa(state, key_id, reason)?;
    let revocation = Revocation { reason: reason.to_owned(), by: *by, height: ctx.height };
    state.put(revoked_cert_key(key_id), revocation.encode());
    append(state, DeviceList::Revocations, revoked_certificate_entry(key_id))?;
    Ok(())
}

/// Runs one instruction of this module.
pub(crate) fn execute(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    instruction: &DeviceInstruction,
) -> Outcome<Option<OfficialAct>> {
    match instruction {
        DeviceInstruction::ClaimVendorId { vendor_id, name, by } => {
            audited(claim_vendor_id(state, cx, (*vendor_id, name, by)))
        }
        DeviceInstruction::AddPai { certificate, by } => audited(add_pai(state, cx, (certificate, by))),
        DeviceInstruction::RevokePai { subject_key_id, reason, by } => {
            audited(revoke_pai(state, cx, (subject_key_id, reason, by)))
        }
        DeviceInstruction::RevokeDac { fingerprint, vendor_id, reason, by } => {
            audited(revoke_dac(state, cx, (fingerprint, *vendor_id, reason, by)))
        }
        DeviceInstruction::RegisterModel { vendor_id, product_id, device_type, name, capabilities, by } => {
            let model = Model {
                device_type: *device_type,
                name: name.clone(),
                capabilities: capabilities.clone(),
                height: cx.block.height,
            };
            audited(register_model(state, cx, (*vendor_id, *product_id, model, by)))
        }
        DeviceInstruction::AddModelVersion {
            vendor_id,
            product_id,
            software_version,
            version_string,
            checksum,
            ota_url,
            min_applicable,
            max_applicable,
            by,
        } => {
            let version = ModelVersion {
                version_string: version_string.clone(),
                checksum: *checksum,
                ota_url: ota_url.clone(),
                min_applicable: *min_applicable,
                max_applicable: *max_applicable,
                certification: Certification::None,
                height: cx.block.height,
            };
            audited(add_model_version(state, cx, (*vendor_id, *product_id, *software_version, version, by)))
        }
        DeviceInstruction::CertifyModelVersion { vendor_id, product_id, software_version, certified, reason, by } => {
            let args = (*vendor_id, *product_id, *software_version, *certified, reason.as_str(), by);
            audited(certify_model_version(state, cx, args))
        }
        DeviceInstruction::RegisterDevice { dac, operational_key, software_version, possession } => {
            let registration =
                passports::Registration { dac, operational_key, software_version: *software_version, possession };
            unaudited(passports::register(state, cx, registration))
        }
        DeviceInstruction::BindDevice { device, owner, device_signature } => {
            unaudited(passports::bind(state, cx, (device, owner, device_signature)))
        }
        DeviceInstruction::OfferDevice { device, to } => unaudited(passports::offer(state, cx, (device, to))),
        DeviceInstruction::AcceptDevice { device } => unaudited(passports::accept(state, cx, device)),
        DeviceInstruction::RotateDeviceKey { device, new_key, device_signature } => {
            unaudited(passports::rotate_key(state, cx, (device, new_key, device_signature)))
        }
        DeviceInstruction::SetDeviceStatus { device, status } => {
            unaudited(passports::set_status(state, cx, (device, *status)))
        }
        DeviceInstruction::GrantDevice { device, controller, capabilities, not_before, not_after, scene } => {
            let grant = passports::GrantArgs {
                controller,
                capabilities,
                not_before: *not_before,
                not_after: *not_after,
                scene,
            };
            unaudited(passports::grant(state, cx, device, grant))
        }
        DeviceInstruction::RevokeGrant { device, controller } => {
            unaudited(passports::revoke_grant(state, cx, (device, controller)))
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
