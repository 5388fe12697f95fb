//! Read-only views of organizations.

use civitas_state::{StateRead, StoreError};
use civitas_types::Did;
use civitas_types::codec::Decode;
use civitas_types::org::{OrgRole, Organization};

use super::{member_key, org_key};

/// The organization record of `org`.
pub fn organization(state: &impl StateRead, org: &Did) -> Result<Option<Organization>, StoreError> {
    match state.get(&org_key(org))? {
        None => Ok(None),
        Some(bytes) => Ok(Some(Organization::decode(&bytes)?)),
    }
}

/// `did`'s role in `org` (the organization's own account is its admin); `None` if it has none
/// or `org` is not an organization.
pub fn role(state: &impl StateRead, org: &Did, did: &Did) -> Result<Option<OrgRole>, StoreError> {
    if organization(state, org)?.is_none() {
        return Ok(None);
    }
    if did == org {
        return Ok(Some(OrgRole::Admin));
    }
    match state.get(&member_key(org, did))? {
        None => Ok(None),
        Some(bytes) => Ok(Some(OrgRole::decode(&bytes)?)),
    }
}
