//! Passports: registering a device against its attestation chain, binding it to an owner,
//! transfers, key rotation, suspension and decommission, and the grants an owner gives other
//! controllers.
//!
//! Registration checks two P-256 signatures (the PAI's over the DAC, and the DAC key's over
//! the challenge); the PAI's and PAA's own signatures were checked when the chain trusted them
//! and their records never change, so they are not checked again. Their parsed form is kept in
//! a small cache keyed by the SHA-256 of their DER: a pure function of bytes in state, so it
//! cannot make two validators disagree; revocation and validity are read from state and the
//! block's time on every registration.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use civitas_state::{StateRead, TxState};
use civitas_types::codec::Encode as _;
use civitas_types::device::attestation::{self, AttestationCert, AttestationError, Level};
use civitas_types::device::list::{grant_entry, scene_name_ok};
use civitas_types::device::passport::{
    self, DeviceId, DeviceStatus, Grant, Passport, dac_device_key, device_key, grant_key,
};
use civitas_types::device::{CertLevel, Certification, DeviceList, TrustedCert};
use civitas_types::{Did, Hash, PublicKey, Signature};

use super::{Error, append, now, query};
use crate::{Context, ExecError, Outcome, accounts};

/// Parsed trusted certificates held at most (a city trusts a few hundred PAIs).
const PARSED_CACHE_MAX: usize = 1024;

static PARSED: Mutex<BTreeMap<Hash, Arc<AttestationCert>>> = Mutex::new(BTreeMap::new());

/// The trusted certificate `record`, parsed (from the cache when it was parsed before).
fn parsed(record: &TrustedCert) -> Outcome<Arc<AttestationCert>> {
    let key = Hash::digest(&record.der);
    if let Some(cert) = PARSED.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(cert.clone());
    }
    let level = match record.level {
        CertLevel::Paa => Level::Paa,
        CertLevel::Pai => Level::Pai,
    };
    let cert = Arc::new(attestation::parse(&record.der, level).map_err(Error::from)?);
    let mut cache = PARSED.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= PARSED_CACHE_MAX {
        cache.clear();
    }
    cache.insert(key, cert.clone());
    Ok(cert)
}

/// Device `id`'s passport, which must not be final.
fn live(state: &impl StateRead, id: &DeviceId) -> Outcome<Passport> {
    let p = query::passport(state, id)?.ok_or(Error::UnknownDevice)?;
    if p.status.is_final() {
        return Err(Error::DeviceFinal(p.status).into());
    }
    Ok(p)
}

/// Device `id`'s passport, live, whose owner signs; and the owner.
fn owned(state: &impl StateRead, cx: &Context<'_>, id: &DeviceId) -> Outcome<(Passport, Did)> {
    let p = live(state, id)?;
    let me = accounts::signer_did(state, cx)?;
    if p.owner != Some(me) {
        return Err(Error::NotTheOwner.into());
    }
    Ok((p, me))
}

fn save(state: &mut TxState<'_, '_>, id: &DeviceId, p: &Passport) {
    state.put(device_key(id), p.encode());
}

/// The registration's arguments, as the instruction carries them.
pub(crate) struct Registration<'a> {
    pub(crate) dac: &'a [u8],
    pub(crate) operational_key: &'a PublicKey,
    pub(crate) software_version: u32,
    pub(crate) possession: &'a [u8],
}

/// `register_device`: checks the device's attestation and its proof of possession, and issues
/// an unbound passport. Permission: anyone with an account.
pub(crate) fn register(state: &mut TxState<'_, '_>, cx: &Context<'_>, r: Registration<'_>) -> Outcome {
    let by = accounts::signer_did(state, cx)?;
    let now = now(cx.block);
    let dac = attestation::parse(r.dac, Level::Dac).map_err(Error::from)?;
    let pai_id = dac.authority_key_id.clone().ok_or(Error::UnknownCertificate("PAI"))?;
    let Some(pai_record) = query::certificate(state, &pai_id)?.filter(|c| c.level == CertLevel::Pai) else {
        return Err(Error::UnknownCertificate("PAI").into());
    };
    let paa_id = pai_record.issuer_key_id.clone().ok_or(Error::UnknownRoot)?;
    let Some(paa_record) = query::certificate(state, &paa_id)?.filter(|c| c.level == CertLevel::Paa) else {
        return Err(Error::UnknownRoot.into());
    };
    for (key_id, what) in [(&paa_id, "the PAA"), (&pai_id, "the PAI")] {
        if query::certificate_revocation(state, key_id)?.is_some() {
            return Err(Error::Revoked(what).into());
        }
    }
    if query::dac_revocation(state, &dac.fingerprint)?.is_some() {
        return Err(Error::Revoked("the device certificate").into());
    }
    let (pai, paa) = (parsed(&pai_record)?, parsed(&paa_record)?);
    let dac = attestation::check_dac(r.dac, &pai, &paa, now).map_err(Error::from)?;
    let (Some(vid), Some(pid)) = (dac.vendor_id, dac.product_id) else {
        return Err(Error::Attestation(AttestationError::Profile("DAC", "no vendor or product id")).into());
    };
    if query::model(state, vid, pid)?.is_none() {
        return Err(Error::UnknownModel(vid, pid).into());
    }
    match query::model_version(state, vid, pid, r.software_version)? {
        None => return Err(Error::UnknownModelVersion(vid, pid, r.software_version).into()),
        Some(v) if !matches!(v.certification, Certification::Certified { .. }) => {
            return Err(Error::NotCertified.into());
        }
        Some(_) => {}
    }
    let challenge = passport::registration_challenge(cx.chain_id, r.operational_key);
    dac.check_possession(&challenge, r.possession).map_err(Error::from)?;
    if state.get(&dac_device_key(&dac.fingerprint))?.is_some() {
        return Err(Error::DacRegistered.into());
    }
    let id = DeviceId(*r.operational_key);
    if query::passport(state, &id)?.is_some() {
        return Err(Error::DeviceExists.into());
    }
    let passport = Passport {
        dac_fingerprint: dac.fingerprint,
        vendor_id: vid,
        product_id: pid,
        software_version: r.software_version,
        pai_key_id: pai_id,
        paa_key_id: paa_id,
        operational_key: *r.operational_key,
        key_version: 0,
        owner: None,
        offered_to: None,
        owner_epoch: 0,
        status: DeviceStatus::Active,
        registered_by: by,
        height: cx.block.height,
    };
    save(state, &id, &passport);
    state.put(dac_device_key(&dac.fingerprint), id.0.0.to_vec());
    Ok(())
}

/// `bind_device`: an unbound device becomes `owner`'s. Permission: `owner` signs the
/// transaction and the device signs the binding statement.
pub(crate) fn bind(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (id, owner, signature): (&DeviceId, &Did, &Signature),
) -> Outcome {
    let mut p = live(state, id)?;
    if accounts::signer_did(state, cx)? != *owner {
        return Err(Error::OwnerMustSign.into());
    }
    if p.owner.is_some() {
        return Err(Error::AlreadyBound.into());
    }
    let statement = passport::binding_statement(cx.chain_id, id, owner, p.owner_epoch);
    if !p.operational_key.verify(signature, &statement) {
        return Err(Error::BadDeviceSignature.into());
    }
    p.owner = Some(*owner);
    p.owner_epoch += 1;
    save(state, id, &p);
    append(state, DeviceList::Owned(*owner), id.0.0.to_vec())
}

/// `offer_device`: the owner offers the device to `to`. Permission: the owner.
pub(crate) fn offer(state: &mut TxState<'_, '_>, cx: &Context<'_>, (id, to): (&DeviceId, &Did)) -> Outcome {
    let (mut p, me) = owned(state, cx, id)?;
    if *to == me {
        return Err(ExecError::BadField("to (someone other than the owner)").into());
    }
    if accounts::query::account(state, to)?.is_none() {
        return Err(ExecError::UnknownDid(*to).into());
    }
    p.offered_to = Some(*to);
    save(state, id, &p);
    Ok(())
}

/// `accept_device`: the recipient of the offer becomes the owner; the previous owner's grants
/// end. Permission: the recipient.
pub(crate) fn accept(state: &mut TxState<'_, '_>, cx: &Context<'_>, id: &DeviceId) -> Outcome {
    let mut p = live(state, id)?;
    let me = accounts::signer_did(state, cx)?;
    if p.offered_to != Some(me) {
        return Err(Error::NoOffer.into());
    }
    p.owner = Some(me);
    p.offered_to = None;
    p.owner_epoch += 1;
    save(state, id, &p);
    append(state, DeviceList::Owned(me), id.0.0.to_vec())
}

/// `rotate_device_key`: the current key signs the new one in. Permission: the device, and its
/// owner when bound.
pub(crate) fn rotate_key(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (id, new_key, signature): (&DeviceId, &PublicKey, &Signature),
) -> Outcome {
    let mut p = live(state, id)?;
    if p.owner.is_some() && p.owner != Some(accounts::signer_did(state, cx)?) {
        return Err(Error::NotTheOwner.into());
    }
    let statement = passport::rotation_statement(cx.chain_id, id, new_key, p.key_version);
    if !p.operational_key.verify(signature, &statement) {
        return Err(Error::BadDeviceSignature.into());
    }
    if *new_key == p.operational_key {
        return Err(ExecError::BadField("new_key (a key other than the current one)").into());
    }
    p.operational_key = *new_key;
    p.key_version += 1;
    save(state, id, &p);
    Ok(())
}

/// `set_device_status`: suspend, resume or decommission (final). Permission: the owner.
pub(crate) fn set_status(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (id, status): (&DeviceId, DeviceStatus),
) -> Outcome {
    let (mut p, _) = owned(state, cx, id)?;
    if status == DeviceStatus::Revoked {
        return Err(
            ExecError::BadField("status (active, suspended or decommissioned; revocation is the vendor's)").into()
        );
    }
    if status == p.status {
        return Err(Error::StatusUnchanged(status).into());
    }
    p.status = status;
    if status == DeviceStatus::Decommissioned {
        p.offered_to = None;
    }
    save(state, id, &p);
    Ok(())
}

/// A grant's arguments, as the instruction carries them.
pub(crate) struct GrantArgs<'a> {
    pub(crate) controller: &'a Did,
    pub(crate) capabilities: &'a [String],
    pub(crate) not_before: u64,
    pub(crate) not_after: u64,
    pub(crate) scene: &'a str,
}

/// `grant_device`: the owner lets `controller` use named capabilities of the device's model in
/// a window. Permission: the owner.
pub(crate) fn grant(state: &mut TxState<'_, '_>, cx: &Context<'_>, id: &DeviceId, g: GrantArgs<'_>) -> Outcome {
    let (p, me) = owned(state, cx, id)?;
    if *g.controller == me {
        return Err(ExecError::BadField("controller (someone other than the owner)").into());
    }
    let model =
        query::model(state, p.vendor_id, p.product_id)?.ok_or(Error::UnknownModel(p.vendor_id, p.product_id))?;
    if !passport::grantable(g.capabilities, &model.capabilities) {
        return Err(Error::NotDeclared.into());
    }
    if g.not_before > g.not_after || g.not_after < now(cx.block) {
        return Err(ExecError::BadField("window (not_before <= not_after, and not_after not yet passed)").into());
    }
    if !g.scene.is_empty() && !scene_name_ok(g.scene) {
        return Err(ExecError::BadField("scene (1 to 64 of a-z 0-9 _ -, or empty)").into());
    }
    // A grant joins its scene's list once, whenever it is made under a scene it was not in.
    let earlier = query::grant(state, id, g.controller)?;
    let listed = earlier.is_some_and(|e| e.scene == g.scene && e.owner_epoch == p.owner_epoch);
    if !g.scene.is_empty() && !listed {
        append(state, DeviceList::Scene(me, g.scene.to_owned()), grant_entry(id, g.controller))?;
    }
    let record = Grant {
        capabilities: g.capabilities.to_vec(),
        not_before: g.not_before,
        not_after: g.not_after,
        scene: g.scene.to_owned(),
        by: me,
        owner_epoch: p.owner_epoch,
        height: cx.block.height,
    };
    state.put(grant_key(id, g.controller), record.encode());
    Ok(())
}

/// The capabilities a lease grants its tenant on a door lock: entry and what goes with it.
pub(crate) const ENTRY_CAPABILITIES: [&str; 3] = ["unlock", "lock", "lock_state"];

/// The entry capabilities device `id` declares, if it is a live lock `owner` owns (one whose
/// model declares `unlock`): what a lease on `owner`'s property may grant its tenant.
pub(crate) fn entry_capabilities(state: &impl StateRead, id: &DeviceId, owner: &Did) -> Outcome<Vec<String>> {
    let p = live(state, id)?;
    if p.owner != Some(*owner) {
        return Err(Error::NotTheOwner.into());
    }
    let model =
        query::model(state, p.vendor_id, p.product_id)?.ok_or(Error::UnknownModel(p.vendor_id, p.product_id))?;
    if !model.capabilities.contains("unlock") {
        return Err(Error::NotDeclared.into());
    }
    Ok(ENTRY_CAPABILITIES.iter().filter(|c| model.capabilities.contains(c)).map(|c| (*c).to_owned()).collect())
}

/// A lease's grant: `owner`'s lock `id` lets `tenant` use its entry capabilities from
/// `not_before` to `not_after`, under the scene `scene` (replacing any earlier grant to the
/// tenant). The landlord agreed by offering the lease naming the lock.
pub(crate) fn grant_lease_entry(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (id, owner, tenant): (&DeviceId, &Did, &Did),
    (not_before, not_after): (u64, u64),
    scene: &str,
) -> Outcome {
    let capabilities = entry_capabilities(state, id, owner)?;
    let p = live(state, id)?;
    let record = Grant {
        capabilities,
        not_before,
        not_after,
        scene: scene.to_owned(),
        by: *owner,
        owner_epoch: p.owner_epoch,
        height: cx.block.height,
    };
    state.put(grant_key(id, tenant), record.encode());
    Ok(())
}

/// Ends the grant a lease made (the one to `tenant` under `scene`), if it is still there.
pub(crate) fn end_lease_entry(state: &mut TxState<'_, '_>, id: &DeviceId, tenant: &Did, scene: &str) -> Outcome {
    if query::grant(state, id, tenant)?.is_some_and(|g| g.scene == scene) {
        state.delete(grant_key(id, tenant));
    }
    Ok(())
}

/// `revoke_grant`: the owner ends a grant now. Permission: the owner.
pub(crate) fn revoke_grant(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (id, controller): (&DeviceId, &Did),
) -> Outcome {
    let (p, _) = owned(state, cx, id)?;
    let in_force = query::grant(state, id, controller)?.is_some_and(|g| g.owner_epoch == p.owner_epoch);
    if !in_force {
        return Err(Error::NoGrant.into());
    }
    state.delete(grant_key(id, controller));
    Ok(())
}

/// A DAC's revocation reaches the device registered with it: its passport is revoked, for good.
pub(crate) fn revoke_registered(state: &mut TxState<'_, '_>, fingerprint: &Hash) -> Outcome {
    let Some(id) = query::device_by_dac(state, fingerprint)? else { return Ok(()) };
    if let Some(mut p) = query::passport(state, &id)?
        && !p.status.is_final()
    {
        p.status = DeviceStatus::Revoked;
        p.offered_to = None;
        save(state, &id, &p);
    }
    Ok(())
}
