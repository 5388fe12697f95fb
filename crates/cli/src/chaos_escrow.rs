//! The escrows in `civitas chaos bank`: money leaves accounts into the chain's escrows and comes
//! back out while the nemesis runs, and the end check balances the escrows with the accounts.
//!
//! - **Funds** (`docs/funds.md`): the finance bureau appropriates into project 0's escrow; the
//!   supervisor approves the project's milestones one after another, each releasing its amount;
//!   the contractor pays itself each released milestone out of the escrow.
//! - **Rentals** (`docs/rentals.md`): each tenant signs its lease (the deposit moves into the
//!   lease's escrow) and then pays rent in small amounts. Rent of the first three months goes
//!   to the landlord, the rest into the lease's escrow; which, depends on block time, so the
//!   check balances each landlord's account together with its lease's escrow (a "pot").
//!
//! Everything the workflows need (the project, its contracts with every milestone reported, the
//! listings and lease offers) is made before the nemesis starts, by `bench funds`' and `bench
//! rental`'s setups.

use std::path::Path;

use anyhow::Context;
use civitas_client::Client;
use civitas_types::{Amount, Did, FundInstruction, Instruction, RentalInstruction, SecretKey};

use crate::bench_device::{Setup, did};
use crate::bench_funds::{MILESTONE_AMOUNT, Parties, balance};
use crate::chaos::{Fate, Rng};

/// Leases the tenants pay into.
pub(crate) const LEASES: u64 = 2;
/// Largest appropriation, in minor units.
const APPROPRIATION_MAX: u64 = 100;
/// Largest rent payment: small, so that a year's rent lasts a long run.
const RENT_PAYMENT_MAX: u64 = 10;
/// Milestones set up per second of nemesis: more than the supervisor can approve, one in flight.
const MILESTONES_PER_SECOND: u64 = 4;
/// Most milestones set up.
const MILESTONES_MAX: u64 = 20_000;
/// The project the run funds (the testnet's first).
const PROJECT: u64 = 0;
/// The first contract of the approvals in `bench funds`' setup (contract 0 is its payroll's).
const FIRST_CONTRACT: u64 = 1;

/// What a signer of the bank workload does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Transfers to another bank account.
    Bank,
    /// The finance bureau: appropriates into the project's escrow.
    Finance,
    /// The project's supervisor: approves its milestones in order.
    Supervisor,
    /// The contractor: pays itself each released milestone.
    Contractor,
    /// A tenant: signs its lease, then pays rent; `pot` is the ledger of its landlord and lease.
    Tenant { lease: u64, pot: usize },
}

/// One instruction a signer sends, with the money it moves between ledgers if it takes effect.
pub(crate) struct Action {
    pub(crate) instruction: Instruction,
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) amount: u64,
    pub(crate) kind: &'static str,
}

/// Where one client thread's escrow workflows stand, as far as it knows.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// Milestones the supervisor's approvals were acknowledged for, in order.
    reviewed: u64,
    /// Milestones the contractor has been paid for, in order.
    paid: u64,
    /// Tenants (by signer) whose lease signing was acknowledged.
    signed: std::collections::BTreeSet<usize>,
}

/// The escrow side of the world: who signs what, and the ledgers beyond the signers' accounts.
pub(crate) struct Escrows {
    /// Milestones set up, all reported.
    milestones: u64,
    /// The landlords, whose keys read their leases.
    landlords: Vec<SecretKey>,
    /// Each landlord's lease.
    leases: Vec<u64>,
    /// The project escrow's ledger; the pots follow it.
    pub(crate) first_ledger: usize,
}

/// The escrow signers: `(key, role)` for the bank to sign with, after its own accounts.
pub(crate) type Signers = Vec<(SecretKey, Role)>;

/// Sets the escrows' world up through `client` (before the nemesis): the project with its
/// contracts and every milestone reported, and each landlord's lease offered to its tenant.
/// `first_signer` is where the escrow signers start among the bank's keys.
pub(crate) fn set_up(
    client: &Client,
    keys_dir: &Path,
    landlords: Vec<SecretKey>,
    tenants: &[SecretKey],
    first_signer: usize,
    duration_secs: u64,
) -> anyhow::Result<(Signers, Escrows)> {
    let status = client.status()?;
    let mut s =
        Setup { client, chain_id: status.chain_id, valid_until: status.height + 1_000_000, nonces: Default::default() };
    let parties = Parties::read(keys_dir)?;
    let milestones = duration_secs.saturating_mul(MILESTONES_PER_SECOND).clamp(1, MILESTONES_MAX);
    eprintln!("bank: setting up escrows: a project with {milestones} milestones reported, {LEASES} leases offered...");
    crate::bench_funds::setup(&mut s, &parties, &[], milestones, 1).context("setting up the project")?;
    let leases = crate::bench_rental::setup(&mut s, keys_dir, &landlords, tenants).context("setting up the leases")?;
    let mut signers: Signers = vec![
        (parties.finance, Role::Finance),
        (parties.supervisor, Role::Supervisor),
        (parties.contractor, Role::Contractor),
    ];
    let first_ledger = first_signer + signers.len() + tenants.len();
    for (i, (tenant, lease)) in tenants.iter().zip(&leases).enumerate() {
        signers.push((tenant.clone(), Role::Tenant { lease: *lease, pot: first_ledger + 1 + i }));
    }
    Ok((signers, Escrows { milestones, landlords, leases, first_ledger }))
}

impl Escrows {
    /// The ledgers beyond the signers' accounts, as `client` sees them: the project's escrow,
    /// then each pot (its landlord's balance plus its lease's deposit and rent in escrow); and
    /// what all the escrows hold.
    pub(crate) fn read(&self, client: &Client) -> anyhow::Result<(Vec<Amount>, Amount)> {
        let project = client.fund_project(PROJECT)?.context("the bank's project is missing")?;
        let mut ledgers = vec![project.escrow];
        let mut escrowed = project.escrow;
        for (landlord, &lease) in self.landlords.iter().zip(&self.leases) {
            let view = client.rental_lease(landlord, lease)?.with_context(|| format!("lease {lease} is missing"))?;
            let held = view.lease.rent_escrow + view.lease.deposit.held;
            escrowed += held;
            ledgers.push(balance(client, &did(landlord))? + held);
        }
        Ok((ledgers, escrowed))
    }

    /// Names the ledger `index` at or past [`Escrows::first_ledger`].
    pub(crate) fn name(&self, index: usize) -> String {
        match index - self.first_ledger {
            0 => format!("project {PROJECT}'s escrow"),
            i => format!("landlord {} with lease {}'s escrow", i - 1, self.leases[i - 1]),
        }
    }

    /// The next instruction of `signer` (a `role` other than [`Role::Bank`]), or `None` while it
    /// has nothing to do.
    pub(crate) fn next(
        &self,
        role: Role,
        signer: usize,
        by: Did,
        progress: &Progress,
        rng: &mut Rng,
    ) -> Option<Action> {
        let escrow = self.first_ledger;
        let milestone = |ordinal: u64| {
            let per = civitas_types::fund::MILESTONES_MAX as u64;
            (FIRST_CONTRACT + ordinal / per, (ordinal % per) as u16)
        };
        let funds = |i: FundInstruction, from, to, amount, kind| {
            Some(Action { instruction: Instruction::Funds(i), from, to, amount, kind })
        };
        match role {
            Role::Bank => None,
            Role::Finance => {
                let amount = rng.between((1, APPROPRIATION_MAX));
                let i = FundInstruction::Appropriate { project: PROJECT, amount: Amount::from(amount), by };
                funds(i, signer, escrow, amount, "appropriation")
            }
            Role::Supervisor if progress.reviewed < self.milestones => {
                let (contract, milestone) = milestone(progress.reviewed);
                let i =
                    FundInstruction::ReviewMilestone { contract, milestone, approve: true, reason: String::new(), by };
                funds(i, escrow, escrow, 0, "milestone approval")
            }
            Role::Contractor if progress.paid < progress.reviewed => {
                let (contract, milestone) = milestone(progress.paid);
                let amount = MILESTONE_AMOUNT as u64;
                let i =
                    FundInstruction::PayShare { contract, milestone, subcontract: None, amount: MILESTONE_AMOUNT, by };
                funds(i, escrow, signer, amount, "milestone payment")
            }
            Role::Supervisor | Role::Contractor => None,
            Role::Tenant { lease, pot } => {
                let (i, amount, kind) = if progress.signed.contains(&signer) {
                    let amount = rng.between((1, RENT_PAYMENT_MAX));
                    (RentalInstruction::PayRent { lease, amount: Amount::from(amount) }, amount, "rent payment")
                } else {
                    let deposit = crate::bench_rental::DEPOSIT as u64;
                    (RentalInstruction::SignLease { lease, version: 1 }, deposit, "lease signing")
                };
                Some(Action { instruction: Instruction::Rentals(i), from: signer, to: pot, amount, kind })
            }
        }
    }
}

impl Progress {
    /// Learns from how `signer`'s last instruction ended. An approval or a lease signing that
    /// failed in its block was made before by one whose answer was lost, so it counts as done;
    /// a payment that failed because its milestone is not released yet is sent again, and one
    /// that failed otherwise (paid before) counts as done.
    pub(crate) fn learn(&mut self, role: Role, signer: usize, fate: &Fate) {
        let Fate::Acked { ok, code, .. } = fate else { return };
        match role {
            Role::Supervisor => self.reviewed += 1,
            Role::Contractor if *ok || code.as_deref() != Some("not_released") => self.paid += 1,
            Role::Tenant { .. } => {
                self.signed.insert(signer);
            }
            Role::Bank | Role::Finance | Role::Contractor => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escrows(milestones: u64) -> Escrows {
        Escrows { milestones, landlords: Vec::new(), leases: Vec::new(), first_ledger: 10 }
    }

    fn acked(ok: bool, code: Option<&str>) -> Fate {
        Fate::Acked { height: 1, ok, code: code.map(str::to_owned) }
    }

    fn by() -> Did {
        Did::from_initial_key(&SecretKey::from_seed([7; 32]).public_key())
    }

    #[test]
    fn the_contractor_is_paid_only_for_approved_milestones_and_retries_one_not_released_yet() {
        let e = escrows(40);
        let mut p = Progress::default();
        let mut rng = Rng(1);
        assert!(e.next(Role::Contractor, 5, by(), &p, &mut rng).is_none(), "nothing approved yet");
        let review = e.next(Role::Supervisor, 4, by(), &p, &mut rng).expect("the first approval");
        assert_eq!((review.from, review.to, review.amount), (10, 10, 0), "an approval moves no money");
        // Lost answers and refusals teach nothing; an approval that failed in its block was made.
        p.learn(Role::Supervisor, 4, &Fate::Indeterminate("in flight at the end"));
        assert_eq!(p.reviewed, 0);
        p.learn(Role::Supervisor, 4, &acked(false, Some("not_reported")));
        p.learn(Role::Supervisor, 4, &acked(true, None));
        assert_eq!(p.reviewed, 2);
        let pay = e.next(Role::Contractor, 5, by(), &p, &mut rng).expect("a payment");
        assert_eq!((pay.from, pay.to, pay.amount), (10, 5, MILESTONE_AMOUNT as u64), "escrow to the contractor");
        p.learn(Role::Contractor, 5, &acked(false, Some("not_released")));
        assert_eq!(p.paid, 0, "sent again");
        p.learn(Role::Contractor, 5, &acked(false, Some("overspend")));
        p.learn(Role::Contractor, 5, &acked(true, None));
        assert_eq!(p.paid, 2);
        assert!(e.next(Role::Contractor, 5, by(), &p, &mut rng).is_none(), "paid up to the approvals");
    }

    #[test]
    fn the_supervisor_stops_at_the_last_milestone_and_milestones_run_across_contracts() {
        let e = escrows(40);
        let mut p = Progress::default();
        let mut rng = Rng(1);
        let per = civitas_types::fund::MILESTONES_MAX as u64;
        p.reviewed = per;
        let Some(Action {
            instruction: Instruction::Funds(FundInstruction::ReviewMilestone { contract, milestone, .. }),
            ..
        }) = e.next(Role::Supervisor, 4, by(), &p, &mut rng)
        else {
            panic!("an approval")
        };
        assert_eq!((contract, milestone), (FIRST_CONTRACT + 1, 0));
        p.reviewed = 40;
        assert!(e.next(Role::Supervisor, 4, by(), &p, &mut rng).is_none());
    }

    #[test]
    fn a_tenant_signs_its_lease_with_the_deposit_then_pays_rent_into_its_pot() {
        let e = escrows(1);
        let mut p = Progress::default();
        let mut rng = Rng(2);
        let tenant = Role::Tenant { lease: 3, pot: 12 };
        let sign = e.next(tenant, 7, by(), &p, &mut rng).expect("signing");
        assert_eq!(
            (sign.kind, sign.from, sign.to, sign.amount),
            ("lease signing", 7, 12, crate::bench_rental::DEPOSIT as u64)
        );
        p.learn(tenant, 7, &Fate::Refused("syncing".into()));
        assert_eq!(e.next(tenant, 7, by(), &p, &mut rng).expect("signing again").kind, "lease signing");
        p.learn(tenant, 7, &acked(false, Some("already_signed")));
        for _ in 0..100 {
            let pay = e.next(tenant, 7, by(), &p, &mut rng).expect("rent");
            assert_eq!((pay.kind, pay.from, pay.to), ("rent payment", 7, 12));
            assert!((1..=RENT_PAYMENT_MAX).contains(&pay.amount));
        }
        let appropriation = e.next(Role::Finance, 3, by(), &p, &mut rng).expect("an appropriation");
        assert_eq!((appropriation.from, appropriation.to), (3, 10), "the bureau's account to the escrow");
    }
}
