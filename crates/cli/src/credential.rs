//! `civitas credential`: credential types, issuance into a holder's wallet folder, anchoring a
//! credential the issuer signed with its own software, presentation, verification against the
//! chain (and recording it in the access log), status changes, consents, and the holder's
//! access log.

use civitas_types::CredentialInstruction;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use civitas_client::Client;
use civitas_client::credential::{self as anchoring, AnchorError};
use civitas_client::sdjwt::{self, Credential, SigningKey};
use civitas_client::wire::CredentialVerifyRequest;
use civitas_types::credential::{CredentialPolicy, CredentialStatus, DisclosureRule};
use civitas_types::org::OrgKind;
use civitas_types::{Did, Hash, Instruction, SecretKey};
use serde_json::{Map, Value, json};

use crate::common::{QueryOpts, TxOpts, load_key, print_json, submit};

/// Exit code when a presentation does not verify.
const EXIT_NOT_VALID: u8 = 4;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum CredentialCommand {
    /// Define a credential type's JSON Schema and policy, as an official of an accredited issuer.
    Define {
        #[command(flatten)]
        opts: TxOpts,
        /// The issuer you act for.
        #[arg(long)]
        by: Did,
        /// The credential type.
        #[arg(long)]
        vct: String,
        /// A file holding the JSON Schema of its claims.
        #[arg(long)]
        schema: PathBuf,
        /// Verifications need the holder's consent.
        #[arg(long)]
        holder_consent: bool,
        /// Consents need the issuer's approval.
        #[arg(long)]
        issuer_approval: bool,
        /// `KIND:claim,claim`: claims a kind of verifier may see (repeat; none: any to anyone).
        #[arg(long = "rule")]
        rules: Vec<String>,
    },
    /// Issue an SD-JWT VC with the issuer organization's own key (`#key-0`), anchor its
    /// commitment at a status entry, and write it into the holder's wallet folder.
    Issue {
        #[command(flatten)]
        opts: TxOpts,
        /// The credential type.
        #[arg(long)]
        vct: String,
        /// A file holding the claims (a JSON object; each is selectively disclosable).
        #[arg(long)]
        claims: PathBuf,
        /// The holder's DID: the key of its DID document that `--holder-key` names is bound
        /// into the credential (`cnf`).
        #[arg(long)]
        holder: Did,
        /// The holder's verification method to bind: an `authentication` method of its DID
        /// document, Ed25519 or P-256 (default: `key-0`, its account key).
        #[arg(long, default_value = "key-0")]
        holder_key: String,
        /// The status list entry to anchor it at (unused).
        #[arg(long)]
        index: u32,
        /// Days until it expires.
        #[arg(long, default_value_t = 365)]
        valid_days: u64,
        /// The holder's wallet folder.
        #[arg(long)]
        wallet: PathBuf,
        /// Its name in the wallet.
        #[arg(long)]
        name: String,
    },
    /// Anchor a credential the issuer signed with its own software, as an official of the
    /// issuer: check the SD-JWT VC issuance with the key its header names in the issuer's DID
    /// document, then anchor its commitment at its status entry.
    Anchor {
        #[command(flatten)]
        opts: TxOpts,
        /// A file holding the issuance (`<issuer-signed JWT>~<disclosure>~…~`).
        #[arg(long)]
        file: PathBuf,
        /// The issuer you act for (default: the credential's `iss`, which it must be).
        #[arg(long)]
        by: Option<Did>,
    },
    /// Present a credential from the wallet: the chosen claims and a key binding for the
    /// verifier's nonce.
    Present {
        /// The wallet folder.
        #[arg(long)]
        wallet: PathBuf,
        /// The credential's name in it.
        #[arg(long)]
        name: String,
        /// The holder's key file (the key the credential binds): an account key, or a P-256 key
        /// from `civitas keys new --p256`.
        #[arg(long)]
        key: PathBuf,
        /// A claim to disclose (repeat).
        #[arg(long = "claim")]
        claims: Vec<String>,
        /// The verifier's DID.
        #[arg(long)]
        aud: String,
        /// The verifier's nonce.
        #[arg(long)]
        nonce: String,
    },
    /// Verify a presentation against the chain; exits 4 if it does not verify. With --record,
    /// write the outcome into the access log as an official of the verifier.
    Verify {
        /// A file holding the presentation.
        #[arg(long)]
        presentation: PathBuf,
        /// Your (the verifier's) DID.
        #[arg(long)]
        aud: Did,
        /// The nonce you gave the holder.
        #[arg(long)]
        nonce: String,
        /// Why you look.
        #[arg(long)]
        purpose: String,
        /// The holder's consent.
        #[arg(long)]
        consent: Option<u64>,
        /// Record the outcome (with --key and --by).
        #[arg(long, requires_all = ["key", "by"])]
        record: bool,
        /// Your key file, to record.
        #[arg(long)]
        key: Option<PathBuf>,
        /// The verifier organization you act for, to record.
        #[arg(long)]
        by: Option<Did>,
        #[command(flatten)]
        query: QueryOpts,
    },
    /// A credential's status (`--prove`: a proof document).
    Status {
        /// The issuer's DID.
        #[arg(long)]
        issuer: Did,
        /// The status list entry.
        #[arg(long)]
        index: u32,
        /// Print a proof document instead.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        query: QueryOpts,
    },
    /// Sign a Token Status List token over the status-list chunk holding `--index`, with the
    /// issuer organization's own key (for relying parties that read status lists, not the
    /// chain).
    StatusListToken {
        /// The issuer organization's key file.
        #[arg(long)]
        key: PathBuf,
        /// A status list entry in the chunk.
        #[arg(long)]
        index: u32,
        /// Seconds before relying parties should fetch it again.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        #[command(flatten)]
        query: QueryOpts,
    },
    /// Revoke (for good), suspend or reinstate a credential, as an official of its issuer.
    SetStatus {
        #[command(flatten)]
        opts: TxOpts,
        /// The issuer you act for.
        #[arg(long)]
        by: Did,
        /// The status list entry.
        #[arg(long)]
        index: u32,
        /// `revoked`, `suspended` or `valid`.
        #[arg(long)]
        status: String,
    },
    /// Consents: grant (as a holder), approve (as the issuer's official), withdraw (holder), list
    /// (a holder's own, with their numbers).
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// The access log about you, a holder (a signed read with your key).
    AccessLog {
        /// Your key file (your account key: it signs the request).
        #[arg(long)]
        key: PathBuf,
        /// The verification method of your DID document your credentials bind (default:
        /// `key-0`, the account key), e.g. the P-256 key of `civitas keys new --p256`.
        #[arg(long)]
        holder_key: Option<String>,
        /// Position to start at.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: u64,
        #[command(flatten)]
        query: QueryOpts,
    },
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum ConsentCommand {
    /// Consent that a verifier see claims of one credential type.
    Grant {
        #[command(flatten)]
        opts: TxOpts,
        /// The verifier organization.
        #[arg(long)]
        verifier: Did,
        /// The credential's issuer.
        #[arg(long)]
        issuer: Did,
        /// The credential type.
        #[arg(long)]
        vct: String,
        /// Why the verifier may look.
        #[arg(long)]
        purpose: String,
        /// A claim it may see (repeat).
        #[arg(long = "claim", required = true)]
        claims: Vec<String>,
        /// How many blocks it lasts.
        #[arg(long, default_value_t = 100_000)]
        ttl_blocks: u64,
        /// How many verifications it allows.
        #[arg(long, default_value_t = 1)]
        max_uses: u32,
    },
    /// Approve a consent, as an official of the issuer.
    Approve {
        #[command(flatten)]
        opts: TxOpts,
        /// The consent.
        #[arg(long)]
        consent: u64,
        /// The issuer you act for.
        #[arg(long)]
        by: Did,
    },
    /// Withdraw your consent.
    Withdraw {
        #[command(flatten)]
        opts: TxOpts,
        /// The consent.
        #[arg(long)]
        consent: u64,
    },
    /// Your consents, with their numbers (a signed read with your key).
    List {
        /// Your key file (your account key: it signs the request).
        #[arg(long)]
        key: PathBuf,
        /// Position to start at.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// At most this many (1 to 100).
        #[arg(long, default_value_t = 20)]
        limit: u64,
        #[command(flatten)]
        query: QueryOpts,
    },
}

fn parse_rule(s: &str) -> anyhow::Result<DisclosureRule> {
    let (kind, claims) = s.split_once(':').with_context(|| format!("--rule {s:?}: expected KIND:claim,claim"))?;
    let verifier_kind = OrgKind::from_name(kind).with_context(|| format!("--rule {s:?}: unknown kind `{kind}`"))?;
    Ok(DisclosureRule { verifier_kind, claims: claims.split(',').map(str::to_owned).collect() })
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn wallet_file(wallet: &Path, name: &str) -> anyhow::Result<PathBuf> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        bail!("a wallet name is letters, digits, - and _");
    }
    Ok(wallet.join(format!("{name}.sdjwt")))
}

fn now_secs() -> u64 {
    civitas_node::consensus::now_ms() / 1000
}

/// Runs `civitas credential`: a presentation that does not verify exits [`EXIT_NOT_VALID`], the
/// changes exit as [`submit`] does.
pub(crate) fn run(cmd: CredentialCommand) -> anyhow::Result<u8> {
    let (opts, instruction) = match cmd {
        CredentialCommand::Define { opts, by, vct, schema, holder_consent, issuer_approval, rules } => {
            let schema_value = read_json(&schema)?;
            if !schema_value.is_object() {
                bail!("{}: a JSON Schema is a JSON object", schema.display());
            }
            let rules = rules.iter().map(|r| parse_rule(r)).collect::<anyhow::Result<Vec<_>>>()?;
            let policy = CredentialPolicy { holder_consent, issuer_approval, rules };
            (
                opts,
                Instruction::Credentials(CredentialInstruction::DefineCredentialType {
                    vct,
                    schema: schema_value.to_string(),
                    policy,
                    by,
                }),
            )
        }
        CredentialCommand::Issue { opts, vct, claims, holder, holder_key, index, valid_days, wallet, name } => {
            let file = wallet_file(&wallet, &name)?;
            let issuer_key = load_key(opts.key_path())?;
            let issuer = Did::from_initial_key(&issuer_key.public_key());
            let client = Client::new(opts.node_url());
            let resolution = client.resolve_did(&holder.to_string(), None, None)?;
            let bound = anchoring::holder_key(&resolution, &holder, &holder_key)
                .map_err(|e| anyhow::anyhow!("the holder's key: {e} ({})", e.code()))?;
            let Value::Object(disclosable) = read_json(&claims)? else {
                bail!("{}: the claims are a JSON object", claims.display());
            };
            let now = now_secs();
            let mut visible = Map::new();
            visible.insert("iss".into(), json!(issuer.to_string()));
            visible.insert("vct".into(), json!(vct));
            visible.insert("iat".into(), json!(now));
            visible.insert("exp".into(), json!(now + valid_days * 86_400));
            let uri = format!("{}/v1/credentials/status/{issuer}/{index}", opts.node_url());
            visible.insert("status".into(), json!({ "status_list": { "idx": index, "uri": uri } }));
            let credential = Credential { visible, disclosable, holder: Some(bound) };
            let salt = || {
                let mut s = [0u8; 16];
                s.copy_from_slice(&SecretKey::generate().seed()[..16]);
                s
            };
            let issuance = sdjwt::issue(&SigningKey::Ed25519(issuer_key), Some("#key-0"), &credential, salt, 2)
                .map_err(|e| anyhow::anyhow!("issuing: {e}"))?;
            let commitment = anchoring::commitment(&issuance);
            std::fs::create_dir_all(&wallet).with_context(|| format!("creating {}", wallet.display()))?;
            std::fs::write(&file, &issuance).with_context(|| format!("writing {}", file.display()))?;
            eprintln!("wrote {} (anchoring commitment {commitment} at entry {index})", file.display());
            (
                opts,
                Instruction::Credentials(CredentialInstruction::AnchorCredential {
                    vct,
                    commitment,
                    status_index: index,
                    by: issuer,
                }),
            )
        }
        CredentialCommand::Anchor { opts, file, by } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let refused = |e: AnchorError| anyhow::anyhow!("{} cannot be anchored: {e} ({})", file.display(), e.code());
            let (issuer, kid) = anchoring::issuer_of(&text).map_err(refused)?;
            if let Some(by) = by
                && by != issuer
            {
                bail!(
                    "--by {by}, but the credential's issuer (iss) is {issuer}: an issuer anchors its own credentials"
                );
            }
            let client = Client::new(opts.node_url());
            let key = anchoring::resolve_issuer_key(&client, &issuer, kid.as_deref())?.map_err(refused)?;
            let checked = anchoring::check_issuance(&text, &key, now_secs()).map_err(refused)?;
            eprintln!(
                "anchoring {} from {issuer}: commitment {} at entry {}",
                checked.vct(),
                checked.commitment(),
                checked.status_index()
            );
            (opts, Instruction::Credentials(checked.anchor_instruction()))
        }
        CredentialCommand::Present { wallet, name, key, claims, aud, nonce } => {
            let issuance = std::fs::read_to_string(wallet_file(&wallet, &name)?)
                .with_context(|| format!("no credential {name} in {}", wallet.display()))?;
            let holder = load_holder_key(&key)?;
            let disclose: Vec<&str> = claims.iter().map(String::as_str).collect();
            let presentation = sdjwt::present(issuance.trim(), &disclose, Some((&holder, &aud, &nonce, now_secs())))
                .map_err(|e| anyhow::anyhow!("presenting: {e}"))?;
            println!("{presentation}");
            return Ok(0);
        }
        CredentialCommand::Verify { presentation, aud, nonce, purpose, consent, record, key, by, query } => {
            let client = Client::new(&query.node);
            let text = std::fs::read_to_string(&presentation)
                .with_context(|| format!("reading {}", presentation.display()))?;
            let req = CredentialVerifyRequest {
                presentation: text.trim().to_owned(),
                aud: aud.to_string(),
                nonce,
                purpose: purpose.clone(),
                consent,
            };
            let result = client.verify_credential(&req)?;
            if query.json {
                print_json(&result)?;
            } else if result.valid {
                println!(
                    "valid: {} from {}",
                    result.vct.as_deref().unwrap_or("?"),
                    result.issuer.as_deref().unwrap_or("?")
                );
                println!("  disclosed {}", result.claims);
            } else {
                println!("not valid ({}): {}", result.outcome, result.detail);
            }
            if record {
                let (Some(key), Some(by)) = (key, by) else { bail!("--record needs --key and --by") };
                let (Some(issuer), Some(vct)) = (result.issuer.as_deref(), result.vct.clone()) else {
                    bail!("the presentation names no issuer or type; nothing to record");
                };
                let hash = |h: Option<&str>| Hash::from_hex(h.unwrap_or_default()).unwrap_or(Hash([0; 32]));
                let instruction = Instruction::Credentials(CredentialInstruction::RecordAccess {
                    issuer: issuer.parse().map_err(|e| anyhow::anyhow!("issuer: {e}"))?,
                    vct,
                    purpose,
                    consent,
                    holder_ref: hash(result.holder_ref.as_deref()),
                    presentation: hash(result.presentation.as_deref()),
                    disclosed: if result.valid { result.disclosed.clone() } else { vec![] },
                    outcome: result.outcome.clone(),
                    by,
                });
                let code = submit(TxOpts::new(key, &query.node), instruction)?;
                if code != 0 {
                    return Ok(code);
                }
            }
            return Ok(if result.valid { 0 } else { EXIT_NOT_VALID });
        }
        CredentialCommand::Status { issuer, index, prove, query } => {
            let s = Client::new(&query.node)
                .credential_status(&issuer, index, prove)?
                .with_context(|| format!("nothing is anchored at {issuer}'s entry {index}"))?;
            print_json(&s)?;
            return Ok(0);
        }
        CredentialCommand::StatusListToken { key, index, ttl, query } => {
            let key = load_key(&key)?;
            let issuer = Did::from_initial_key(&key.public_key());
            let s = Client::new(&query.node)
                .credential_status(&issuer, index, false)?
                .with_context(|| format!("nothing is anchored at {issuer}'s entry {index}"))?;
            let entries = sdjwt::status_list::decode(&s["status_list"]).map_err(|e| anyhow::anyhow!("{e}"))?;
            let chunk = s["chunk"].as_u64().context("the node's answer has no chunk")?;
            let uri = format!("{}/v1/credentials/status-list/{issuer}/{chunk}", query.node);
            let token =
                sdjwt::status_list::token(&SigningKey::Ed25519(key), Some("#key-0"), &uri, &entries, now_secs(), ttl);
            println!("{token}");
            return Ok(0);
        }
        CredentialCommand::SetStatus { opts, by, index, status } => {
            let status = match status.as_str() {
                "revoked" => CredentialStatus::Revoked,
                "suspended" => CredentialStatus::Suspended,
                "valid" => CredentialStatus::Valid,
                other => bail!("--status {other:?}: revoked, suspended or valid"),
            };
            (
                opts,
                Instruction::Credentials(CredentialInstruction::SetCredentialStatus {
                    status_index: index,
                    status,
                    by,
                }),
            )
        }
        CredentialCommand::Consent(ConsentCommand::Grant {
            opts,
            verifier,
            issuer,
            vct,
            purpose,
            claims,
            ttl_blocks,
            max_uses,
        }) => (
            opts,
            Instruction::Credentials(CredentialInstruction::GrantConsent {
                verifier,
                issuer,
                vct,
                purpose,
                claims,
                ttl_blocks,
                max_uses,
            }),
        ),
        CredentialCommand::Consent(ConsentCommand::Approve { opts, consent, by }) => {
            (opts, Instruction::Credentials(CredentialInstruction::ApproveConsent { consent, by }))
        }
        CredentialCommand::Consent(ConsentCommand::Withdraw { opts, consent }) => {
            (opts, Instruction::Credentials(CredentialInstruction::WithdrawConsent { consent }))
        }
        CredentialCommand::Consent(ConsentCommand::List { key, from, limit, query }) => {
            print_json(&Client::new(&query.node).consents(&load_key(&key)?, from, limit)?)?;
            return Ok(0);
        }
        CredentialCommand::AccessLog { key, holder_key, from, limit, query } => {
            let log = Client::new(&query.node).access_log(&load_key(&key)?, holder_key.as_deref(), from, limit)?;
            print_json(&log)?;
            return Ok(0);
        }
    };
    submit(opts, instruction)
}

/// A holder's signing key from a key file: an account key (Ed25519), or a P-256 key of its DID
/// document (`civitas keys new --p256`).
fn load_holder_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if civitas_types::keyfile::key_type(&text) == "P-256" {
        let secret = civitas_types::keyfile::parse_p256(&text).with_context(|| format!("{}", path.display()))?;
        return SigningKey::p256_from_bytes(&secret).context("not a P-256 secret key");
    }
    Ok(SigningKey::Ed25519(load_key(path)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_and_wallet_names_are_checked() {
        let rule = parse_rule("department:given_name,permit_number").expect("parses");
        assert_eq!((rule.verifier_kind, rule.claims.len()), (OrgKind::Department, 2));
        assert!(parse_rule("guild:x").is_err() && parse_rule("department").is_err());
        assert!(wallet_file(Path::new("w"), "permit-1").is_ok());
        assert!(wallet_file(Path::new("w"), "../etc/passwd").is_err());
    }
}
