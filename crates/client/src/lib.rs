//! The Civitas Rust SDK: the API's wire types (JSON forms and the binary batch format) and a
//! blocking HTTP client.
//!
//! This crate is an API boundary and depends on no node crate: applications and the light
//! client use it without pulling in storage or consensus.

pub mod catalog;
pub mod claims;
pub mod credential;
pub mod device;
pub mod did;
pub mod fund;
pub mod fund_ocds;
pub mod invoice;
pub mod light;
pub mod log;
pub mod rental;
pub use civitas_types::sdjwt;
pub mod seal;
pub mod signed;
pub mod stats;
pub mod wire;

use std::time::{Duration, Instant};

use civitas_types::codec::Encode;
use civitas_types::{Did, Hash, SignedTransaction};

/// `as=DID` after `sep`, or nothing.
pub(crate) fn as_query(sep: char, as_org: Option<&Did>) -> String {
    as_org.map(|a| format!("{sep}as={a}")).unwrap_or_default()
}

/// Percent-encodes everything but RFC 3986's unreserved characters (for a path segment).
pub(crate) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

use wire::{AccountJson, BatchItem, BatchResponse, BlockJson, Problem, StatusJson, SubmitResponse, TxStatusJson};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node could not be reached, or the connection broke.
    #[error("cannot reach the node at {url}: {source}")]
    Transport {
        /// The URL called.
        url: String,
        /// The cause.
        source: Box<ureq::Error>,
    },
    /// The node answered with an error.
    #[error("{}: {}", .0.code, .0.detail)]
    Api(Problem),
    /// The node's answer is not what the API documents.
    #[error("unexpected answer from {url}: {why}")]
    Protocol {
        /// The URL called.
        url: String,
        /// What was wrong.
        why: String,
    },
    /// Waiting for a transaction took too long.
    #[error("transaction {0} was not committed within {1:?}")]
    Timeout(Hash, Duration),
}

/// A client for one node's HTTP API.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

/// Largest response body the client reads.
const RESPONSE_BYTES_MAX: u64 = 64 * 1024 * 1024;

impl Client {
    /// A client for the node at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base_url: &str) -> Client {
        Client::with_timeout(base_url, Duration::from_secs(30))
    }

    /// A client for the node at `base_url` whose every request gives up after `timeout` (a
    /// caller that must notice a stopped node quickly picks a short one).
    pub fn with_timeout(base_url: &str, timeout: Duration) -> Client {
        let agent =
            ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(timeout)).build().new_agent();
        Client { base: base_url.trim_end_matches('/').to_owned(), agent }
    }

    /// The node's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn read<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Option<T>, ClientError> {
        let protocol = |why: String| ClientError::Protocol { url: url.to_owned(), why };
        match self.read_bytes(url, result)? {
            Some(body) => serde_json::from_slice(&body).map(Some).map_err(|e| protocol(e.to_string())),
            None => Ok(None),
        }
    }

    /// A successful answer's body; `None` for a `not_found` problem.
    fn read_bytes(
        &self,
        url: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Option<Vec<u8>>, ClientError> {
        let mut resp = result.map_err(|e| ClientError::Transport { url: url.to_owned(), source: Box::new(e) })?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(RESPONSE_BYTES_MAX)
            .read_to_vec()
            .map_err(|e| ClientError::Transport { url: url.to_owned(), source: Box::new(e) })?;
        let protocol = |why: String| ClientError::Protocol { url: url.to_owned(), why };
        if (200..300).contains(&status) {
            return Ok(Some(body));
        }
        let problem: Problem = serde_json::from_slice(&body)
            .map_err(|_| protocol(format!("status {status} with a body that is not problem+json")))?;
        if status == 404 && problem.code == "not_found" {
            return Ok(None);
        }
        Err(ClientError::Api(problem))
    }

    pub(crate) fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Option<T>, ClientError> {
        let url = self.url(path);
        let r = self.agent.get(&url).call();
        self.read(&url, r)
    }

    /// A proof document at `path` (a 404 is a protocol error: a proof route always answers).
    pub(crate) fn proof(&self, path: &str) -> Result<wire::ProofJson, ClientError> {
        self.get(path)?.ok_or_else(|| ClientError::Protocol { url: self.url(path), why: "404".into() })
    }

    /// A signed GET of `path_and_query` by `key` (see [`signed::request_message`]).
    pub(crate) fn get_signed<T: serde::de::DeserializeOwned>(
        &self,
        key: &civitas_types::SecretKey,
        path_and_query: &str,
    ) -> Result<Option<T>, ClientError> {
        let url = self.url(path_and_query);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut req = self.agent.get(&url);
        for (name, value) in signed::sign_request(key, "GET", path_and_query, now) {
            req = req.header(name, value);
        }
        self.read(&url, req.call())
    }

    /// Asks the node to verify a credential presentation against the chain.
    pub fn verify_credential(
        &self,
        req: &wire::CredentialVerifyRequest,
    ) -> Result<wire::VerificationJson, ClientError> {
        let url = self.url("/v1/credentials/verify");
        let r = self.agent.post(&url).send_json(req);
        self.read(&url, r)?.ok_or_else(|| ClientError::Protocol { url, why: "404".into() })
    }

    /// A credential's status (`prove`: a proof document instead), as JSON.
    pub fn credential_status(
        &self,
        issuer: &Did,
        index: u32,
        prove: bool,
    ) -> Result<Option<serde_json::Value>, ClientError> {
        self.get(&format!("/v1/credentials/status/{issuer}/{index}{}", if prove { "?prove=true" } else { "" }))
    }

    /// The access log about the holder whose key is `key` (a signed read).
    pub fn access_log(
        &self,
        key: &civitas_types::SecretKey,
        holder_key: Option<&str>,
        from: u64,
        limit: u64,
    ) -> Result<serde_json::Value, ClientError> {
        let method = holder_key.map(|m| format!("&holder_key={}", percent_encode(m.trim_start_matches('#'))));
        let path = format!("/v1/credentials/access?from={from}&limit={limit}{}", method.unwrap_or_default());
        self.get_signed(key, &path)?.ok_or_else(|| ClientError::Protocol { url: self.url(&path), why: "404".into() })
    }

    /// The consents the account whose key is `key` granted, with their numbers (a signed read):
    /// `{"holder", "consents": [{"id", "verifier", "issuer", "vct", "purpose", "claims", …}],
    /// "next"}`.
    pub fn consents(
        &self,
        key: &civitas_types::SecretKey,
        from: u64,
        limit: u64,
    ) -> Result<serde_json::Value, ClientError> {
        let path = format!("/v1/credentials/consents?from={from}&limit={limit}");
        self.get_signed(key, &path)?.ok_or_else(|| ClientError::Protocol { url: self.url(&path), why: "404".into() })
    }

    /// Resolves a DID through the node (`did:key` needs no node: see
    /// [`did::resolve_did_key`]). Resolution errors (`notFound`, `invalidDid`, ...) come back as
    /// results, not as `Err`.
    pub fn resolve_did(
        &self,
        did: &str,
        version_id: Option<u64>,
        version_time: Option<&str>,
    ) -> Result<did::ResolutionJson, ClientError> {
        let url = self.url(&format!("/v1/dids/{did}"));
        let mut req = self.agent.get(&url);
        if let Some(v) = version_id {
            req = req.query("versionId", v.to_string());
        }
        if let Some(t) = version_time {
            req = req.query("versionTime", t);
        }
        let mut resp = req.call().map_err(|e| ClientError::Transport { url: url.clone(), source: Box::new(e) })?;
        let body = resp
            .body_mut()
            .with_config()
            .limit(RESPONSE_BYTES_MAX)
            .read_to_vec()
            .map_err(|e| ClientError::Transport { url: url.clone(), source: Box::new(e) })?;
        serde_json::from_slice(&body).map_err(|e| ClientError::Protocol { url, why: e.to_string() })
    }

    /// An organization; `None` if the DID is not one.
    pub fn organization(&self, did: &Did) -> Result<Option<wire::OrgJson>, ClientError> {
        self.get(&format!("/v1/orgs/{did}"))
    }

    /// `member`'s role in `org`; `None` if it holds none.
    pub fn official(&self, org: &Did, member: &Did) -> Result<Option<wire::OfficialJson>, ClientError> {
        self.get(&format!("/v1/orgs/{org}/officials/{member}"))
    }

    /// A proof document of a `did:civitas` DID's account, document and metadata.
    pub fn prove_did(&self, did: &Did) -> Result<wire::ProofJson, ClientError> {
        let path = format!("/v1/dids/{did}?prove=true");
        self.get(&path)?.ok_or_else(|| ClientError::Protocol { url: self.url(&path), why: "404".into() })
    }

    /// A proof document of audit entry `n`.
    pub fn prove_audit_entry(&self, n: u64) -> Result<wire::ProofJson, ClientError> {
        let path = format!("/v1/audit/{n}?prove=true");
        self.get(&path)?.ok_or_else(|| ClientError::Protocol { url: self.url(&path), why: "404".into() })
    }

    /// The council.
    pub fn council(&self) -> Result<wire::CouncilJson, ClientError> {
        self.get("/v1/council")?
            .ok_or_else(|| ClientError::Protocol { url: self.url("/v1/council"), why: "404".into() })
    }

    /// The validator set that finalizes the next block.
    pub fn validators(&self) -> Result<wire::ValidatorSetJson, ClientError> {
        self.get("/v1/validators")?
            .ok_or_else(|| ClientError::Protocol { url: self.url("/v1/validators"), why: "404".into() })
    }

    /// Council proposal `id`; `None` if there is none.
    pub fn proposal(&self, id: u64) -> Result<Option<wire::ProposalJson>, ClientError> {
        self.get(&format!("/v1/council/proposals/{id}"))
    }

    /// A page of the audit trail: all of it, or `org`'s.
    pub fn audit(&self, org: Option<&Did>, from: u64, limit: u64) -> Result<wire::AuditPageJson, ClientError> {
        let mut path = format!("/v1/audit?from={from}&limit={limit}");
        if let Some(o) = org {
            path.push_str(&format!("&org={o}"));
        }
        self.get(&path)?.ok_or_else(|| ClientError::Protocol { url: self.url("/v1/audit"), why: "404".into() })
    }

    /// The node's counters, in the Prometheus text format.
    pub fn metrics(&self) -> Result<String, ClientError> {
        let url = self.url("/metrics");
        let r = self.agent.get(&url).call();
        let body = self.read_bytes(&url, r)?.unwrap_or_default();
        String::from_utf8(body).map_err(|e| ClientError::Protocol { url, why: e.to_string() })
    }

    /// The finalized block at `height` with its finalization certificate, unchecked; `None` if
    /// the node holds no certified block there (genesis has no certificate).
    pub fn raw_block(&self, height: u64) -> Result<Option<(civitas_types::Block, Vec<u8>)>, ClientError> {
        let url = self.url(&format!("/v1/blocks/{height}/raw"));
        let r = self.agent.get(&url).call();
        match self.read_bytes(&url, r)? {
            Some(body) => {
                wire::decode_raw_block(&body).map(Some).map_err(|e| ClientError::Protocol { url, why: e.to_string() })
            }
            None => Ok(None),
        }
    }

    /// The node's status.
    pub fn status(&self) -> Result<StatusJson, ClientError> {
        self.get("/v1/status")?.ok_or_else(|| ClientError::Protocol { url: self.url("/v1/status"), why: "404".into() })
    }

    /// Submits one transaction in its binary form; returns its hash once the node admitted it.
    pub fn submit(&self, tx: &SignedTransaction) -> Result<Hash, ClientError> {
        let url = self.url("/v1/transactions");
        let r = self.agent.post(&url).header("content-type", "application/octet-stream").send(&tx.encode()[..]);
        let resp: SubmitResponse =
            self.read(&url, r)?.ok_or_else(|| ClientError::Protocol { url: url.clone(), why: "404".into() })?;
        Hash::from_hex(&resp.hash).map_err(|e| ClientError::Protocol { url, why: e.to_string() })
    }

    /// Submits many transactions in one request; one result per transaction, in order.
    pub fn submit_batch(&self, txs: &[SignedTransaction]) -> Result<Vec<BatchItem>, ClientError> {
        self.submit_batch_raw(&wire::encode_batch(txs))
    }

    /// Submits an already-framed batch body (see [`wire::encode_batch`]).
    pub fn submit_batch_raw(&self, body: &[u8]) -> Result<Vec<BatchItem>, ClientError> {
        let url = self.url("/v1/transactions/batch");
        let r = self.agent.post(&url).header("content-type", "application/octet-stream").send(body);
        let resp: BatchResponse =
            self.read(&url, r)?.ok_or_else(|| ClientError::Protocol { url: url.clone(), why: "404".into() })?;
        Ok(resp.results)
    }

    /// Where a transaction stands; `None` if the node knows nothing of it.
    pub fn tx(&self, hash: &Hash) -> Result<Option<TxStatusJson>, ClientError> {
        self.get(&format!("/v1/transactions/{hash}"))
    }

    /// Polls until the transaction is committed (successfully or not) or dropped, or `timeout`
    /// passes. A drop is reported at once: the node's `dropped` with its reason, or, from a
    /// node that held it as pending and then no longer knows it, `dropped` with `forgotten`.
    pub fn wait_for(&self, hash: &Hash, timeout: Duration) -> Result<TxStatusJson, ClientError> {
        let start = Instant::now();
        let mut seen_pending = false;
        loop {
            match self.tx(hash)? {
                Some(s) if s.status == wire::TxState::Pending => seen_pending = true,
                Some(s) => return Ok(s),
                // It was pending here and is now unknown: the node let it go (a node that
                // reports drops says `dropped`; this one forgot). Waiting on cannot help.
                None if seen_pending => {
                    return Ok(TxStatusJson {
                        hash: hash.to_hex(),
                        status: wire::TxState::Dropped,
                        height: None,
                        index: None,
                        error_code: Some("forgotten".into()),
                        error_message: Some("the node held it, then let it go without a block".into()),
                    });
                }
                None => {}
            }
            if start.elapsed() > timeout {
                return Err(ClientError::Timeout(*hash, timeout));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A block and a page of its transactions.
    pub fn block(&self, height: u64, offset: u32, limit: u32) -> Result<Option<BlockJson>, ClientError> {
        self.get(&format!("/v1/blocks/{height}?offset={offset}&limit={limit}"))
    }

    /// An account.
    pub fn account(&self, did: &Did) -> Result<Option<AccountJson>, ClientError> {
        self.get(&format!("/v1/accounts/{did}"))
    }

    /// A proof of an account (or of its absence) in the latest finalized state.
    pub fn prove_account(&self, did: &Did) -> Result<wire::ProofJson, ClientError> {
        let path = format!("/v1/accounts/{did}?prove=true");
        self.get(&path)?.ok_or_else(|| ClientError::Protocol { url: self.url(&path), why: "404".into() })
    }

    /// A proof of a committed transaction's inclusion and receipt.
    pub fn prove_tx(&self, hash: &Hash) -> Result<wire::ProofJson, ClientError> {
        let path = format!("/v1/transactions/{hash}?prove=true");
        self.get(&path)?.ok_or_else(|| ClientError::Protocol { url: self.url(&path), why: "404".into() })
    }

    /// Fetches a proof of an account and verifies it against the genesis chain id and
    /// validators: the answer holds whether or not the node is honest.
    pub fn verified_account(
        &self,
        did: &Did,
        chain_id: &str,
        validators: &[civitas_types::PublicKey],
    ) -> Result<light::Proven, ClientError> {
        let doc = self.prove_account(did)?;
        light::verify_proof(&doc, chain_id, validators)
            .map_err(|e| ClientError::Protocol { url: self.url("/v1/accounts"), why: format!("proof refused: {e}") })
    }
}
