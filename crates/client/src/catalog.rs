//! The data catalog, read side: a dataset, an access request with whether it is in force, pages
//! of the catalog's lists (every dataset, an owner's datasets, a dataset's requests, an
//! organization's requests, a dataset's uses, the uses of all of an owner's datasets) and their
//! proofs.
//!
//! Datasets and the lists of them are public. A request and the lists of requests and uses are
//! for officials of the requester or of the dataset's owner: those reads are signed (see
//! [`crate::signed`]).

use civitas_types::SecretKey;
use civitas_types::catalog::{AccessRequest, CatalogEntry, CatalogList, Dataset};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Client, ClientError, wire};

/// A dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DatasetJson {
    /// The dataset as stored.
    pub dataset: Dataset,
}

/// An access request, and whether it lets its requester use the dataset at the block read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RequestJson {
    /// The request as stored.
    pub request: AccessRequest,
    /// Whether it is a grant in force at the latest block's time.
    pub in_force: bool,
}

impl RequestJson {
    /// The view of `request` at block time `at` (unix seconds).
    pub fn new(request: AccessRequest, at: u64) -> RequestJson {
        RequestJson { in_force: request.in_force(at), request }
    }
}

/// A page of one of the catalog's lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CatalogListJson {
    /// The list (`datasets`, `owned/did:civitas:…`, `requests/0`, `requested/did:civitas:…`,
    /// `uses/0`, `owner-uses/did:civitas:…`).
    pub list: String,
    /// Its length.
    pub total: u64,
    /// The first entry's position.
    pub from: u64,
    /// The entries.
    pub entries: Vec<CatalogEntry>,
    /// The position of the next page, if the list goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// The route of `list`.
pub fn list_path(list: &CatalogList) -> String {
    match list {
        CatalogList::Datasets => "/v1/catalog/datasets".into(),
        CatalogList::Owned(d) => format!("/v1/catalog/owners/{d}/datasets"),
        CatalogList::Requests(n) => format!("/v1/catalog/datasets/{n}/requests"),
        CatalogList::Requested(d) => format!("/v1/catalog/requesters/{d}/requests"),
        CatalogList::Uses(n) => format!("/v1/catalog/datasets/{n}/uses"),
        CatalogList::OwnerUses(d) => format!("/v1/catalog/owners/{d}/uses"),
    }
}

/// A 404 (`unknown_dataset`, `unknown_request`, `not_found`) as `None`.
fn absent<T>(read: Result<Option<T>, ClientError>) -> Result<Option<T>, ClientError> {
    match read {
        Err(ClientError::Api(p)) if p.status == 404 => Ok(None),
        other => other,
    }
}

/// A proof document at `path`, read signed by `key` (a 404 is the problem it is).
fn signed_proof(client: &Client, key: &SecretKey, path: &str) -> Result<wire::ProofJson, ClientError> {
    client.get_signed(key, path)?.ok_or_else(|| ClientError::Protocol { url: client.url(path), why: "404".into() })
}

impl Client {
    /// Dataset `id`.
    pub fn catalog_dataset(&self, id: u64) -> Result<Option<DatasetJson>, ClientError> {
        absent(self.get(&format!("/v1/catalog/datasets/{id}")))
    }

    /// A page of a public `list` (every dataset, an owner's datasets) from position `from`.
    pub fn catalog_list(
        &self,
        list: &CatalogList,
        from: u64,
        limit: u64,
    ) -> Result<Option<CatalogListJson>, ClientError> {
        absent(self.get(&format!("{}?from={from}&limit={limit}", list_path(list))))
    }

    /// A proof of a public record (`dataset/3`); a request is a signed read
    /// ([`Client::prove_catalog_request`]).
    pub fn prove_catalog_record(&self, record: &str) -> Result<wire::ProofJson, ClientError> {
        match record.split_once('/') {
            Some(("dataset", id)) => self.proof(&format!("/v1/catalog/datasets/{id}?prove=true")),
            _ => Err(ClientError::Protocol {
                url: self.url("/v1/catalog"),
                why: format!("{record}: the public catalog records are dataset/N (request/N is a signed read)"),
            }),
        }
    }

    /// A proof of a page of a public `list` from position `from`.
    pub fn prove_catalog_list(
        &self,
        list: &CatalogList,
        from: u64,
        limit: u64,
    ) -> Result<wire::ProofJson, ClientError> {
        self.proof(&format!("{}?from={from}&limit={limit}&prove=true", list_path(list)))
    }

    /// Access request `id`, read by `key`: an official's of its requester or of the dataset's
    /// owner.
    pub fn catalog_request(&self, key: &SecretKey, id: u64) -> Result<Option<RequestJson>, ClientError> {
        absent(self.get_signed(key, &format!("/v1/catalog/requests/{id}")))
    }

    /// A proof of access request `id` (`request/N`), read by `key` as [`Client::catalog_request`]:
    /// what a grantee shows to prove its grant.
    pub fn prove_catalog_request(&self, key: &SecretKey, id: u64) -> Result<wire::ProofJson, ClientError> {
        signed_proof(self, key, &format!("/v1/catalog/requests/{id}?prove=true"))
    }

    /// A page of a private `list` (a dataset's requests or uses, an organization's requests, the
    /// uses of an owner's datasets) read by `key`, from position `from`.
    pub fn catalog_signed_list(
        &self,
        key: &SecretKey,
        list: &CatalogList,
        from: u64,
        limit: u64,
    ) -> Result<Option<CatalogListJson>, ClientError> {
        absent(self.get_signed(key, &format!("{}?from={from}&limit={limit}", list_path(list))))
    }

    /// A proof of a page of a private `list`, read by `key`.
    pub fn prove_catalog_signed_list(
        &self,
        key: &SecretKey,
        list: &CatalogList,
        from: u64,
        limit: u64,
    ) -> Result<wire::ProofJson, ClientError> {
        signed_proof(self, key, &format!("{}?from={from}&limit={limit}&prove=true", list_path(list)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_types::Did;
    use civitas_types::catalog::RequestStatus;

    #[test]
    fn every_list_has_its_route() {
        let did: Did = "did:civitas:00112233445566778899aabbccddeeff00112233".parse().expect("did");
        assert_eq!(list_path(&CatalogList::Datasets), "/v1/catalog/datasets");
        assert_eq!(list_path(&CatalogList::Owned(did)), format!("/v1/catalog/owners/{did}/datasets"));
        assert_eq!(list_path(&CatalogList::Requests(3)), "/v1/catalog/datasets/3/requests");
        assert_eq!(list_path(&CatalogList::Requested(did)), format!("/v1/catalog/requesters/{did}/requests"));
        assert_eq!(list_path(&CatalogList::Uses(3)), "/v1/catalog/datasets/3/uses");
        assert_eq!(list_path(&CatalogList::OwnerUses(did)), format!("/v1/catalog/owners/{did}/uses"));
    }

    #[test]
    fn a_request_view_is_in_force_until_its_grant_expires() {
        let did = |n: u8| Did::from_initial_key(&SecretKey::from_seed([n; 32]).public_key());
        let request = AccessRequest {
            id: 0,
            dataset: 0,
            requester: did(2),
            requested_by: did(2),
            purpose: "bus network planning".into(),
            days: 90,
            status: RequestStatus::Granted,
            requested_at: 100,
            decided_at: Some(100),
            decided_by: Some(did(1)),
            expires_at: Some(200),
            reason: String::new(),
            uses: 1,
        };
        assert!(RequestJson::new(request.clone(), 200).in_force);
        let view = RequestJson::new(request, 201);
        assert!(!view.in_force);
        let json = serde_json::to_value(&view).expect("json");
        assert_eq!((json["request"]["status"].as_str(), json["in_force"].as_bool()), (Some("granted"), Some(false)));
        assert_eq!(serde_json::from_value::<RequestJson>(json).expect("back"), view);
    }
}
