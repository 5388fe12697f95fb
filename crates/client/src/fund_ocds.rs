//! A project's funds records as an OCDS 1.1 release package (Open Contracting Data Standard,
//! schema 1.1.5, core only: no extensions, so any OCDS tool validates it offline).
//!
//! One project is one contracting process (one `ocid`). Its releases:
//! - one `planning` release per appropriation (`planningUpdate` after the first), whose budget is
//!   what was appropriated up to and including it;
//! - per top-level contract, an `award` release (`awardCancellation` if it was terminated
//!   before the contractor accepted it), a `contract` release with its milestones
//!   (`contractTermination` once terminated) and, once anything was paid, an `implementation`
//!   release with one transaction per payment.
//!
//! Subcontracts have no OCDS object of their own in core OCDS: the parent contract's
//! description lists them, and their subcontractors (and payrolls) appear as payees.
//! Each release lists the parties it refers to, with the roles the party has in the whole
//! project, so that merging releases into a record never loses a role.

use std::collections::{BTreeMap, BTreeSet};

use civitas_types::fund::{Appropriation, Contract, ContractStatus, MilestoneStatus, Payee, Payment, Project};
use civitas_types::{Amount, Did};
use serde_json::{Value, json};

/// The currency of every amount: minor units (2 decimals) of the city's currency.
pub const CURRENCY: &str = "CNY";

/// The start of every `ocid`. OCDS wants `ocds-` plus a 6-character prefix the publisher
/// registers with the Open Contracting Partnership; `cvts00` is a placeholder that a city
/// publishing this data would replace with its registered prefix.
pub const OCID_PREFIX: &str = "ocds-cvts00-";

/// Everything the export needs, as read (and proven) from one height of the chain.
#[derive(Debug, Clone)]
pub struct ProjectBook {
    /// The chain's id.
    pub chain_id: String,
    /// The height read.
    pub height: u64,
    /// The block's time at that height (ms).
    pub published_ms: u64,
    /// The project.
    pub project: Project,
    /// Its appropriations, in order.
    pub appropriations: Vec<Appropriation>,
    /// Its top-level contracts, in order.
    pub contracts: Vec<ContractBook>,
    /// Organization names by DID (may miss some: the DID stands in for a missing name).
    pub names: BTreeMap<Did, String>,
}

/// A top-level contract with what hangs off it.
#[derive(Debug, Clone)]
pub struct ContractBook {
    /// The contract.
    pub contract: Contract,
    /// Its payments, in order (their positions in its payments list number them).
    pub payments: Vec<Payment>,
    /// Its subcontracts, in order.
    pub subcontracts: Vec<Contract>,
}

/// The `ocid` of project `project` on chain `chain_id` (anything but ASCII letters, digits
/// and `-` in the chain id becomes `-`).
pub fn ocid(chain_id: &str, project: u64) -> String {
    let chain: String = chain_id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
    format!("{OCID_PREFIX}{chain}-{project}")
}

/// Project `book` as an OCDS 1.1 release package; `base_uri` is the node's API root
/// (`https://node.example`), used for the package's and the transactions' URIs.
pub fn release_package(book: &ProjectBook, base_uri: &str) -> Value {
    let base = base_uri.trim_end_matches('/');
    let p = &book.project;
    let ocid = ocid(&book.chain_id, p.id);
    let parties = Parties::of(book);
    let buyer = org_ref(&p.owner.to_string(), &book.name(&p.owner));
    // The parties of the planning stage, referred to by every release.
    let mut oversight = vec![p.owner.to_string(), p.finance.to_string(), p.supervisor.to_string()];
    oversight.extend(p.auditor.map(|a| a.to_string()));
    let release = |id: String, date: u64, tag: &str, mut refs: Vec<String>, body: Value| {
        refs.splice(0..0, oversight.iter().cloned());
        let mut r = json!({
            "ocid": ocid,
            "id": id,
            "date": date_s(date),
            "tag": [tag],
            "initiationType": "tender",
            "language": "en",
            "parties": parties.subset(&refs),
            "buyer": buyer,
        });
        if let (Some(r), Value::Object(body)) = (r.as_object_mut(), body) {
            r.extend(body);
        }
        r
    };

    let mut releases = Vec::new();
    let budget = |amount: Option<Amount>| {
        let mut b = json!({
            "id": format!("budget-{}", p.id),
            "description": p.purpose,
            "project": p.title,
            "projectID": p.id.to_string(),
        });
        if let (Some(a), Some(b)) = (amount, b.as_object_mut()) {
            b.insert("amount".into(), value(a));
        }
        json!({ "planning": { "budget": b } })
    };
    if book.appropriations.is_empty() {
        // A package holds at least one release: the project as opened.
        let at = p.opened_ms / 1000;
        releases.push(release(format!("{ocid}-planning-0"), at, "planning", vec![], budget(None)));
    }
    let mut appropriated: Amount = 0;
    for (n, a) in book.appropriations.iter().enumerate() {
        appropriated = appropriated.saturating_add(a.amount);
        let tag = if n == 0 { "planning" } else { "planningUpdate" };
        let refs = vec![a.from.to_string()];
        releases.push(release(format!("{ocid}-planning-{n}"), a.at, tag, refs, budget(Some(appropriated))));
    }

    for cb in &book.contracts {
        let c = &cb.contract;
        let supplier = c.contractor.to_string();
        let supplier_ref = org_ref(&supplier, &book.name(&c.contractor));
        let cancelled = c.status == ContractStatus::Terminated && c.accepted_at.is_none();

        // The award, dated by the decision (or by its cancellation).
        let award = json!({
            "tender": { "id": format!("tender-{}", p.id), "title": p.title, "status": "complete" },
            "awards": [{
                "id": format!("award-{}", c.id),
                "title": c.title,
                "status": if cancelled { "cancelled" } else { "active" },
                "date": date_s(c.awarded_at),
                "value": value(c.amount),
                "suppliers": [supplier_ref],
            }],
        });
        let (date, tag) =
            if cancelled { (c.ended_at.unwrap_or(c.awarded_at), "awardCancellation") } else { (c.awarded_at, "award") };
        releases.push(release(format!("{ocid}-award-{}-{date}", c.id), date, tag, vec![supplier.clone()], award));

        // The contract as it stands, dated by the last event that changed it.
        let mut refs = vec![supplier.clone()];
        refs.extend(cb.subcontracts.iter().map(|s| s.contractor.to_string()));
        let date = contract_date(cb);
        let tag = if c.status == ContractStatus::Terminated { "contractTermination" } else { "contract" };
        let body = json!({ "contracts": [contract_json(book, cb)] });
        releases.push(release(format!("{ocid}-contract-{}-{date}", c.id), date, tag, refs, body));

        // What was paid, one transaction per payment.
        if let Some(last) = cb.payments.iter().map(|pay| pay.at).max() {
            let mut refs = vec![supplier.clone()];
            let transactions: Vec<Value> = cb
                .payments
                .iter()
                .enumerate()
                .map(|(n, pay)| {
                    let (payee_id, payee_name) = payee(book, cb, &pay.payee);
                    refs.push(payee_id.clone());
                    json!({
                        "id": format!("contract-{}-payment-{n}", c.id),
                        "source": format!("{base}/v1/funds/contracts/{}", c.id),
                        "date": date_s(pay.at),
                        "value": value(pay.amount),
                        "payer": buyer,
                        "payee": org_ref(&payee_id, &payee_name),
                        "uri": format!("{base}/v1/funds/contracts/{}/payments?from={n}&limit=1", c.id),
                    })
                })
                .collect();
            let body = json!({ "contracts": [{
                "id": format!("contract-{}", c.id),
                "awardID": format!("award-{}", c.id),
                "implementation": { "transactions": transactions },
            }] });
            releases.push(release(
                format!("{ocid}-implementation-{}-{last}", c.id),
                last,
                "implementation",
                refs,
                body,
            ));
        }
    }

    json!({
        "uri": format!("{base}/v1/funds/projects/{}/ocds", p.id),
        "version": "1.1",
        "publishedDate": crate::did::datetime(book.published_ms),
        "publisher": { "name": format!("Civitas (chain {})", book.chain_id) },
        "releases": releases,
    })
}

impl ProjectBook {
    /// The organization's name, or its DID where the book has none.
    fn name(&self, did: &Did) -> String {
        self.names.get(did).cloned().unwrap_or_else(|| did.to_string())
    }
}

/// A contract release's `contracts[]` entry.
fn contract_json(book: &ProjectBook, cb: &ContractBook) -> Value {
    let c = &cb.contract;
    let terminated = c.status == ContractStatus::Terminated;
    let status = match c.status {
        ContractStatus::Offered => "pending",
        ContractStatus::Active => "active",
        // Never accepted: in OCDS terms cancelled before it was signed.
        ContractStatus::Terminated if c.accepted_at.is_none() => "cancelled",
        ContractStatus::Terminated => "terminated",
    };
    let milestones: Vec<Value> = c
        .milestones
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut j = json!({
                "id": format!("contract-{}-milestone-{i}", c.id),
                "title": m.title,
                "description": m.deliverable,
                "type": "delivery",
                "dueDate": date_s(m.due),
            });
            let (status, modified) = match (m.status, m.approved_at) {
                (MilestoneStatus::Approved, at) => ("met", at),
                (_, _) if terminated => ("notMet", c.ended_at),
                (_, _) => ("scheduled", None),
            };
            if let Some(o) = j.as_object_mut() {
                o.insert("status".into(), status.into());
                if status == "met"
                    && let Some(at) = m.approved_at
                {
                    o.insert("dateMet".into(), date_s(at).into());
                }
                if let Some(at) = modified {
                    o.insert("dateModified".into(), date_s(at).into());
                }
            }
            j
        })
        .collect();

    let mut description = Vec::new();
    if !cb.subcontracts.is_empty() {
        let subs: Vec<String> = cb
            .subcontracts
            .iter()
            .map(|s| {
                format!(
                    "\"{}\" to {}, {} {CURRENCY} ({})",
                    s.title,
                    book.name(&s.contractor),
                    decimal(s.amount),
                    s.status.name()
                )
            })
            .collect();
        description.push(format!("Subcontracts: {}.", subs.join("; ")));
    }
    if terminated {
        let when = c.ended_at.map(|t| format!(" on {}", date_s(t))).unwrap_or_default();
        let why = if c.reason.is_empty() { String::new() } else { format!(": {}", c.reason) };
        description.push(format!("Terminated{when}{why}."));
    }

    let mut j = json!({
        "id": format!("contract-{}", c.id),
        "awardID": format!("award-{}", c.id),
        "title": c.title,
        "status": status,
        "value": value(c.amount),
        "milestones": milestones,
    });
    if let Some(o) = j.as_object_mut() {
        if !description.is_empty() {
            o.insert("description".into(), description.join(" ").into());
        }
        if let Some(at) = c.accepted_at {
            o.insert("dateSigned".into(), date_s(at).into());
        }
        let mut period = serde_json::Map::new();
        if let Some(at) = c.accepted_at {
            period.insert("startDate".into(), date_s(at).into());
        }
        if let (true, Some(at)) = (terminated, c.ended_at) {
            period.insert("endDate".into(), date_s(at).into());
        }
        if !period.is_empty() {
            o.insert("period".into(), Value::Object(period));
        }
    }
    j
}

/// The last time (unix seconds) anything a contract release shows changed.
fn contract_date(cb: &ContractBook) -> u64 {
    let c = &cb.contract;
    let times = |k: &Contract| [Some(k.awarded_at), k.accepted_at, k.ended_at];
    times(c)
        .into_iter()
        .chain(c.milestones.iter().map(|m| m.approved_at))
        .chain(cb.subcontracts.iter().flat_map(times))
        .flatten()
        .max()
        .unwrap_or(c.awarded_at)
}

/// A payment's payee: its party id and name.
fn payee(book: &ProjectBook, cb: &ContractBook, p: &Payee) -> (String, String) {
    match p {
        Payee::Contractor { account } | Payee::Subcontractor { account, .. } => {
            (account.to_string(), book.name(account))
        }
        Payee::Payroll { payroll, subcontract, workers } => {
            let employer = cb
                .subcontracts
                .iter()
                .find(|s| s.id == *subcontract)
                .map_or_else(|| format!("subcontract {subcontract}"), |s| book.name(&s.contractor));
            (format!("payroll-{payroll}"), format!("Payroll {payroll}: {workers} workers of {employer}"))
        }
    }
}

/// A party role, in the order roles are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Buyer,
    ProcuringEntity,
    Payer,
    Funder,
    Supplier,
    Payee,
    ReviewBody,
}

impl Role {
    /// Its code in OCDS's partyRole codelist.
    fn code(self) -> &'static str {
        match self {
            Role::Buyer => "buyer",
            Role::ProcuringEntity => "procuringEntity",
            Role::Payer => "payer",
            Role::Funder => "funder",
            Role::Supplier => "supplier",
            Role::Payee => "payee",
            Role::ReviewBody => "reviewBody",
        }
    }
}

/// Every party of a project with its roles, in the order first met.
struct Parties {
    order: Vec<String>,
    by_id: BTreeMap<String, (String, BTreeSet<Role>)>,
}

impl Parties {
    fn of(book: &ProjectBook) -> Parties {
        let mut ps = Parties { order: Vec::new(), by_id: BTreeMap::new() };
        let p = &book.project;
        let add_did = |ps: &mut Parties, did: &Did, roles: &[Role]| ps.add(did.to_string(), book.name(did), roles);
        add_did(&mut ps, &p.owner, &[Role::Buyer, Role::ProcuringEntity, Role::Payer]);
        add_did(&mut ps, &p.finance, &[Role::Funder]);
        for a in &book.appropriations {
            add_did(&mut ps, &a.from, &[Role::Funder]);
        }
        add_did(&mut ps, &p.supervisor, &[Role::ReviewBody]);
        if let Some(a) = &p.auditor {
            add_did(&mut ps, a, &[Role::ReviewBody]);
        }
        for cb in &book.contracts {
            add_did(&mut ps, &cb.contract.contractor, &[Role::Supplier, Role::Payee]);
            for s in &cb.subcontracts {
                add_did(&mut ps, &s.contractor, &[Role::Payee]);
            }
            for pay in &cb.payments {
                let (id, name) = payee(book, cb, &pay.payee);
                ps.add(id, name, &[Role::Payee]);
            }
        }
        ps
    }

    fn add(&mut self, id: String, name: String, roles: &[Role]) {
        let entry = self.by_id.entry(id.clone()).or_insert_with(|| {
            self.order.push(id);
            (name, BTreeSet::new())
        });
        entry.1.extend(roles.iter().copied());
    }

    /// The parties `ids` names (each once, in the order first met in the project).
    fn subset(&self, ids: &[String]) -> Vec<Value> {
        let wanted: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        self.order
            .iter()
            .filter(|id| wanted.contains(id.as_str()))
            .filter_map(|id| {
                let (name, roles) = self.by_id.get(id)?;
                let roles: Vec<&str> = roles.iter().map(|r| r.code()).collect();
                Some(json!({ "id": id, "name": name, "roles": roles }))
            })
            .collect()
    }
}

/// An OCDS organization reference.
fn org_ref(id: &str, name: &str) -> Value {
    json!({ "id": id, "name": name })
}

/// Unix seconds as RFC 3339 in UTC (`2026-11-30T12:00:00Z`).
fn date_s(secs: u64) -> String {
    crate::did::datetime(secs.saturating_mul(1000))
}

/// Minor units as a decimal with 2 places (`1234.50`).
fn decimal(minor: Amount) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// An OCDS value: `minor` units as a JSON number of major units, in [`CURRENCY`].
fn value(minor: Amount) -> Value {
    json!({ "amount": major_units(minor), "currency": CURRENCY })
}

/// `minor` / 100 as a JSON number. OCDS amounts are JSON numbers and serde_json's are `f64`: the
/// number is the double nearest the exact decimal (parsed from it, so correctly rounded),
/// which prints back as that decimal for amounts below 10^15 minor units (10 trillion in major
/// units), far beyond any project; larger amounts come out rounded to 15-16 significant digits.
/// Whole amounts print as `100.0` and `1234.50` as `1234.5`: the same number.
fn major_units(minor: Amount) -> Value {
    decimal(minor).parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_types::fund::Milestone;

    fn did(n: u8) -> Did {
        format!("did:civitas:{n:040x}").parse().unwrap()
    }

    const OWNER: u8 = 1;
    const FINANCE: u8 = 2;
    const SUPERVISOR: u8 = 3;
    const AUDITOR: u8 = 4;
    const BUILDER: u8 = 5;
    const ROOFER: u8 = 6;

    fn milestone(title: &str, amount: Amount, due: u64, approved_at: Option<u64>) -> Milestone {
        Milestone {
            title: title.into(),
            deliverable: format!("{title} done"),
            amount,
            due,
            status: if approved_at.is_some() { MilestoneStatus::Approved } else { MilestoneStatus::Pending },
            report: String::new(),
            reported_at: approved_at,
            supervisor_approved: approved_at.is_some(),
            auditor_approved: approved_at.is_some(),
            reason: String::new(),
            approved_at,
            paid: 0,
        }
    }

    fn contract(id: u64, parent: Option<u64>, contractor: u8, amount: Amount, milestones: Vec<Milestone>) -> Contract {
        Contract {
            id,
            project: 0,
            parent,
            contractor: did(contractor),
            awarded_by: did(if parent.is_some() { BUILDER } else { OWNER }),
            title: format!("Contract {id}"),
            amount,
            status: ContractStatus::Active,
            milestones,
            subcontracted: 0,
            released: 0,
            paid: 0,
            reason: String::new(),
            awarded_at: 1_780_000_000,
            accepted_at: Some(1_780_000_100),
            ended_at: None,
        }
    }

    fn payment(payee: Payee, amount: Amount, at: u64) -> Payment {
        Payment { milestone: 0, payee, amount, at, height: 10 }
    }

    /// One appropriation, one contract (2 milestones, the first approved), one subcontract,
    /// three payments (contractor, subcontractor, payroll).
    fn book() -> ProjectBook {
        let t = 1_780_000_000;
        let project = Project {
            id: 3,
            title: "Riverside school".into(),
            purpose: "A new primary school by the river".into(),
            owner: did(OWNER),
            supervisor: did(SUPERVISOR),
            auditor: Some(did(AUDITOR)),
            finance: did(FINANCE),
            appropriated: 500_000_000,
            contracted: 300_000_050,
            released: 100_000_000,
            paid: 60_000_025,
            opened_ms: (t - 1000) * 1000,
            height: 2,
        };
        let main = contract(
            7,
            None,
            BUILDER,
            300_000_050,
            vec![
                milestone("Foundations", 100_000_000, t + 86_400, Some(t + 50_000)),
                milestone("Walls and roof", 200_000_050, t + 200 * 86_400, None),
            ],
        );
        let sub = contract(8, Some(7), ROOFER, 50_000_000, vec![]);
        ProjectBook {
            chain_id: "civitas test/1".into(),
            height: 42,
            published_ms: (t + 90_000) * 1000,
            project,
            appropriations: vec![Appropriation { amount: 500_000_000, from: did(FINANCE), at: t - 1000, height: 2 }],
            contracts: vec![ContractBook {
                contract: main,
                payments: vec![
                    payment(Payee::Contractor { account: did(BUILDER) }, 40_000_000, t + 60_000),
                    payment(Payee::Subcontractor { subcontract: 8, account: did(ROOFER) }, 10_000_025, t + 60_100),
                    payment(Payee::Payroll { payroll: 4, subcontract: 8, workers: 12 }, 10_000_000, t + 60_200),
                ],
                subcontracts: vec![sub],
            }],
            names: [(OWNER, "Education Bureau"), (FINANCE, "Finance Bureau"), (BUILDER, "Acme Construction")]
                .into_iter()
                .map(|(n, name)| (did(n), name.to_owned()))
                .collect(),
        }
    }

    fn releases(pkg: &Value) -> &Vec<Value> {
        pkg["releases"].as_array().unwrap()
    }

    #[test]
    fn package_fields() {
        let pkg = release_package(&book(), "https://node.example/");
        assert_eq!(pkg["uri"], "https://node.example/v1/funds/projects/3/ocds");
        assert_eq!(pkg["version"], "1.1");
        assert_eq!(pkg["publishedDate"], "2026-05-29T21:26:40Z");
        assert_eq!(pkg["publisher"]["name"], "Civitas (chain civitas test/1)");
        for r in releases(&pkg) {
            assert_eq!(r["ocid"], "ocds-cvts00-civitas-test-1-3");
            assert_eq!(r["initiationType"], "tender");
            assert_eq!(r["buyer"], json!({ "id": did(OWNER).to_string(), "name": "Education Bureau" }));
        }
    }

    #[test]
    fn tags_and_unique_ids() {
        let pkg = release_package(&book(), "https://node.example");
        let tags: Vec<&str> = releases(&pkg).iter().map(|r| r["tag"][0].as_str().unwrap()).collect();
        assert_eq!(tags, ["planning", "award", "contract", "implementation"]);
        let ids: BTreeSet<&str> = releases(&pkg).iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 4);
        assert!(ids.iter().all(|id| !id.contains('#')));
    }

    #[test]
    fn amounts_are_decimals() {
        let check = |minor: Amount, expected: &str| assert_eq!(major_units(minor).to_string(), expected);
        check(0, "0.0");
        check(5, "0.05");
        check(123_450, "1234.5");
        check(10_000_025, "100000.25");
        check(999_999_999_999_999, "9999999999999.99");

        let pkg = release_package(&book(), "https://node.example");
        let r = releases(&pkg);
        assert_eq!(r[0]["planning"]["budget"]["amount"], json!({ "amount": 5_000_000.0, "currency": "CNY" }));
        assert_eq!(r[0]["planning"]["budget"]["projectID"], "3");
        assert_eq!(r[1]["awards"][0]["value"]["amount"].to_string(), "3000000.5");
        let tx = &r[3]["contracts"][0]["implementation"]["transactions"];
        assert_eq!(tx[1]["value"]["amount"].to_string(), "100000.25");
    }

    #[test]
    fn budget_is_cumulative() {
        let mut b = book();
        b.appropriations.push(Appropriation { amount: 150, from: did(FINANCE), at: 1_780_000_500, height: 9 });
        let pkg = release_package(&b, "https://node.example");
        let r = releases(&pkg);
        assert_eq!((r[0]["tag"][0].as_str(), r[1]["tag"][0].as_str()), (Some("planning"), Some("planningUpdate")));
        assert_eq!(r[1]["planning"]["budget"]["amount"]["amount"].to_string(), "5000001.5");
    }

    #[test]
    fn milestones_and_subcontracts() {
        let pkg = release_package(&book(), "https://node.example");
        let c = &releases(&pkg)[2]["contracts"][0];
        assert_eq!(
            (c["id"].as_str(), c["awardID"].as_str(), c["status"].as_str()),
            (Some("contract-7"), Some("award-7"), Some("active"))
        );
        assert_eq!(c["dateSigned"], "2026-05-28T20:28:20Z");
        let ms = c["milestones"].as_array().unwrap();
        assert_eq!(ms[0]["id"], "contract-7-milestone-0");
        assert_eq!(ms[0]["status"], "met");
        assert_eq!(ms[0]["dateMet"], "2026-05-29T10:20:00Z");
        assert_eq!(ms[1]["status"], "scheduled");
        assert!(ms[1].get("dateMet").is_none());
        for m in ms {
            assert!(m.get("value").is_none() && m.get("amount").is_none(), "no milestone value in core OCDS");
            assert_eq!(m["type"], "delivery");
        }
        let subcontractor = did(ROOFER).to_string();
        assert_eq!(
            c["description"],
            format!("Subcontracts: \"Contract 8\" to {subcontractor}, 500000.00 CNY (active).")
        );
    }

    #[test]
    fn terminations() {
        let mut b = book();
        let c = &mut b.contracts[0].contract;
        c.status = ContractStatus::Terminated;
        c.ended_at = Some(1_780_100_000);
        c.reason = "left the site".into();
        let pkg = release_package(&b, "https://node.example");
        let r = releases(&pkg);
        assert_eq!(r[1]["tag"][0], "award");
        assert_eq!(r[1]["awards"][0]["status"], "active");
        assert_eq!(r[2]["tag"][0], "contractTermination");
        let c = &r[2]["contracts"][0];
        assert_eq!(c["status"], "terminated");
        assert_eq!(c["milestones"][0]["status"], "met");
        assert_eq!(c["milestones"][1]["status"], "notMet");
        assert!(c["description"].as_str().unwrap().ends_with("Terminated on 2026-05-30T00:13:20Z: left the site."));

        // Terminated before it was accepted: the award is cancelled, the contract never signed.
        b.contracts[0].contract.accepted_at = None;
        let pkg = release_package(&b, "https://node.example");
        let r = releases(&pkg);
        assert_eq!(r[1]["tag"][0], "awardCancellation");
        assert_eq!(r[1]["awards"][0]["status"], "cancelled");
        assert_eq!(r[2]["contracts"][0]["status"], "cancelled");
    }

    #[test]
    fn payments_and_payroll_party() {
        let pkg = release_package(&book(), "https://node.example");
        let r = &releases(&pkg)[3];
        let tx = r["contracts"][0]["implementation"]["transactions"].as_array().unwrap();
        let ids: Vec<&str> = tx.iter().map(|t| t["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["contract-7-payment-0", "contract-7-payment-1", "contract-7-payment-2"]);
        assert_eq!(tx[0]["source"], "https://node.example/v1/funds/contracts/7");
        assert_eq!(tx[0]["payer"]["id"], did(OWNER).to_string());
        assert_eq!(tx[0]["payee"], json!({ "id": did(BUILDER).to_string(), "name": "Acme Construction" }));
        assert_eq!(tx[1]["payee"]["id"], did(ROOFER).to_string());
        let roofer = did(ROOFER).to_string();
        assert_eq!(tx[2]["payee"], json!({ "id": "payroll-4", "name": format!("Payroll 4: 12 workers of {roofer}") }));

        let parties = r["parties"].as_array().unwrap();
        let payroll = parties.iter().find(|p| p["id"] == "payroll-4").unwrap();
        assert_eq!(payroll["roles"], json!(["payee"]));
        let roles = |d: u8| parties.iter().find(|p| p["id"] == did(d).to_string()).map(|p| p["roles"].clone());
        assert_eq!(roles(OWNER), Some(json!(["buyer", "procuringEntity", "payer"])));
        assert_eq!(roles(FINANCE), Some(json!(["funder"])));
        assert_eq!(roles(BUILDER), Some(json!(["supplier", "payee"])));
        assert_eq!(roles(ROOFER), Some(json!(["payee"])));
        assert_eq!(roles(AUDITOR), Some(json!(["reviewBody"])));
        // Every organization reference in a release names one of its parties.
        for r in releases(&pkg) {
            let ids: BTreeSet<&str> =
                r["parties"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
            let mut refs = vec![&r["buyer"]];
            for a in r["awards"].as_array().into_iter().flatten() {
                refs.extend(a["suppliers"].as_array().unwrap());
            }
            for c in r["contracts"].as_array().into_iter().flatten() {
                for t in c["implementation"]["transactions"].as_array().into_iter().flatten() {
                    refs.extend([&t["payer"], &t["payee"]]);
                }
            }
            assert!(refs.iter().all(|o| ids.contains(o["id"].as_str().unwrap())), "{r}");
        }
    }

    #[test]
    fn no_appropriation_still_one_release() {
        let mut b = book();
        b.appropriations.clear();
        b.contracts.clear();
        let pkg = release_package(&b, "https://node.example");
        let r = releases(&pkg);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["tag"][0], "planning");
        assert!(r[0]["planning"]["budget"].get("amount").is_none());
    }
}
