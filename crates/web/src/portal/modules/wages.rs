//! My wages: what payrolls paid into the resident's account, with their projects and the proof
//! a worker shows.

use super::*;

/// The wages page's query: where the list starts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WagesQuery {
    from: Option<u64>,
}

/// What a wage's project, subcontract and payroll are, each read once.
#[derive(Default)]
struct FundNames {
    projects: BTreeMap<u64, Option<String>>,
    contracts: BTreeMap<u64, Option<(String, Option<u64>)>>,
    payrolls: BTreeMap<u64, Option<PayrollJson>>,
}

impl FundNames {
    fn read(&mut self, p: &Portal, w: &Wage) -> Result<(), PageError> {
        if let Entry::Vacant(e) = self.projects.entry(w.project) {
            e.insert(p.client.fund_project(w.project).map_err(node_error)?.map(|x| x.project.title));
        }
        if let Entry::Vacant(e) = self.contracts.entry(w.subcontract) {
            let c = p.client.fund_contract(w.subcontract).map_err(node_error)?;
            e.insert(c.map(|c| (c.contract.title, c.contract.parent)));
        }
        if let Entry::Vacant(e) = self.payrolls.entry(w.payroll) {
            e.insert(p.client.fund_payroll(w.payroll).map_err(node_error)?);
        }
        Ok(())
    }
}

/// `GET /wages`: the wages paid into my account from project funds (a public, provable list:
/// what a worker shows a bank or a labour office), with their projects, contracts and payrolls.
pub(super) async fn wages(
    State(p): PortalState,
    q: Result<Query<WagesQuery>, QueryRejection>,
) -> Result<Markup, PageError> {
    let q = query(q)?;
    in_portal(
        blocking(move || {
            let from = q.from.unwrap_or(0);
            let list = p.client.fund_list(&FundList::Wages(p.did), from, WAGES_PAGE).map_err(node_error)?;
            let (total, entries, next) = list.map_or((0, vec![], None), |l| (l.total, l.entries, l.next));
            let wages: Vec<Wage> =
                entries.into_iter().filter_map(|e| if let FundEntry::Wage(w) = e { Some(w) } else { None }).collect();
            let mut funds = FundNames::default();
            let mut names = Names::new(&p);
            let mut employers = Vec::with_capacity(wages.len());
            for w in &wages {
                funds.read(&p, w)?;
                employers.push(names.party(&w.employer)?);
            }
            let sum = wages.iter().try_fold(0u128, |s, w| s.checked_add(w.amount));
            let proof = format!(
                "{}/v1/funds/wages/{}?{}prove=true",
                p.node,
                p.did,
                if from > 0 { format!("from={from}&") } else { String::new() }
            );
            let body = html! {
                p { "Wages paid straight into your account from public project funds, by the payrolls your employers filed and their contractors approved." }
                @if wages.is_empty() {
                    p { "No wages were paid into your account." }
                } @else {
                    p {
                        @if total == 1 { "1 payment in all" } @else { (total) " payments in all" }
                        @if let Some(s) = sum { "; on this page " strong { (amount(s)) } }
                        "."
                    }
                    table #wages {
                        thead { tr {
                            th scope="col" { "Paid" } th scope="col" class="num" { "Amount" } th scope="col" { "Project" }
                            th scope="col" { "Contract" } th scope="col" { "Employer" } th scope="col" { "Payroll" } th scope="col" { "Block" }
                        } }
                        tbody {
                            @for (w, employer) in wages.iter().zip(&employers) {
                                tr {
                                    td { (unix(w.at)) }
                                    td.num { (amount(w.amount)) }
                                    td {
                                        a href=(format!("{}/funds/projects/{}", p.node, w.project)) {
                                            @match funds.projects.get(&w.project).and_then(Option::as_ref) { Some(t) => (t), None => { "project " (w.project) } }
                                        }
                                    }
                                    td {
                                        @match funds.contracts.get(&w.subcontract).and_then(Option::as_ref) {
                                            Some((title, parent)) => {
                                                (title) " (subcontract " (w.subcontract)
                                                @if let Some(c) = parent { " of contract " (c) }
                                                ")"
                                            },
                                            None => { "contract " (w.subcontract) },
                                        }
                                    }
                                    td { (employer) }
                                    td {
                                        a href=(format!("{}/v1/funds/payrolls/{}", p.node, w.payroll)) { "payroll " (w.payroll) }
                                        @if let Some(r) = funds.payrolls.get(&w.payroll).and_then(Option::as_ref) {
                                            ", milestone " (r.payroll.milestone) " of contract " (r.payroll.contract) " (" (r.payroll.status.name()) ")"
                                        }
                                    }
                                    td { a href=(format!("{}/blocks/{}", p.node, w.height)) { (w.height) } }
                                }
                            }
                        }
                    }
                    @if let Some(next) = next { p { a href=(format!("/wages?from={next}")) { "More" } } }
                    section.proof aria-label="Proof of your wages" {
                        h2 { "Prove your wages" }
                        p {
                            "The node proves this list against the state root of a finalized block, signed by a quorum of the validators: anyone can check it with no trust in this portal or the node. "
                            a href=(proof) download="wages.json" { "Download the proof (wages.json)" }
                            " and the chain's " a href=(format!("{}/genesis.json", p.node)) download="genesis.json" { "genesis.json" } ", then run, with no node:"
                        }
                        pre { code { "civitas verify wages.json --genesis genesis.json" } }
                        p { "The proof's address: " code { (proof) } }
                    }
                }
            };
            Ok(p.page("My wages", body))
        })
        .await,
    )
}
