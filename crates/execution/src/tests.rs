//! A small chain harness for execution tests: a real store in a temp dir, genesis, blocks.

use civitas_state::{BlockState, Store};
use civitas_types::{
    Amount, Block, BlockHeader, Did, GENESIS_PARENT, Instruction, Role, SecretKey, Transaction, TxOutcome, TxReceipt,
    VerifiedTransaction,
};

use crate::accounts::{self, Account, GenesisAccount};
use crate::{BlockContext, execute_block};

pub(crate) const CHAIN: &str = "civitas-test";

pub(crate) struct Harness {
    _dir: tempfile::TempDir,
    pub(crate) store: Store,
    /// Added to every later block's time (see [`Harness::advance`]).
    clock_ms: u64,
}

pub(crate) fn key(n: u8) -> SecretKey {
    SecretKey::from_seed([n; 32])
}

pub(crate) fn did(n: u8) -> Did {
    Did::from_initial_key(&key(n).public_key())
}

/// Validator `n`: key `n`, listening on port 9000 + n.
pub(crate) fn validator(n: u8) -> civitas_types::validators::Validator {
    civitas_types::validators::Validator {
        key: key(n).public_key(),
        address: format!("127.0.0.1:{}", 9000 + u16::from(n)),
        name: format!("department {n}"),
    }
}

/// Keys 20 to 23 are the validators (epoch 0). Key 13 is the tax bureau (a department with the
/// tax function), 14 a payment provider (metro fares), 15 a company (the metro operator, a
/// merchant once registered), 16 and 17 employers, 18 a manufacturer, 19 a certification body. Key 1 is the finance bureau (a department) with 1000; keys 2 and 3 are residents with 100 and 0; key 10 is
/// the market-regulation department, key 11 the housing department and key 12 civil affairs
/// (organizations, 0 each), the three forming a council with a threshold of 2. For project
/// funds: key 41 is the education bureau (a department owning projects), 42 a builder and 43 a
/// masonry company (contractor and subcontractor), 44 a site supervision company, 45 the audit
/// office (a department) and 46 a worker. For rentals: 53 is the housing bureau (a department
/// with the housing function), 50 a landlord, 51 a tenant, 52 a letting agent (a
/// company). For the data catalog: 54 owns datasets and 55 asks to use them (companies). For
/// statistics: 56 is the transport bureau (a department with the transport function), 57 a
/// taxi company, 58 and 59 departments that aggregate.
pub(crate) fn harness() -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open store");
    let genesis = [
        GenesisAccount { public_key: key(1).public_key(), balance: 1000, roles: vec![Role::Finance] },
        GenesisAccount { public_key: key(2).public_key(), balance: 100, roles: vec![] },
        GenesisAccount { public_key: key(3).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(10).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(11).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(12).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(13).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(14).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(15).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(16).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(17).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(18).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(19).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(41).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(42).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(43).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(44).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(45).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(46).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(50).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(51).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(52).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(53).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(54).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(55).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(56).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(57).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(58).public_key(), balance: 0, roles: vec![] },
        GenesisAccount { public_key: key(59).public_key(), balance: 0, roles: vec![] },
    ];
    let org = |n: u8, kind, name: &str| crate::orgs::GenesisOrganization {
        did: did(n),
        kind,
        name: name.into(),
        functions: vec![],
    };
    use civitas_types::org::OrgKind::{Company, Department};
    let departments = [
        crate::orgs::GenesisOrganization {
            did: did(10),
            kind: civitas_types::org::OrgKind::Department,
            name: "Market Regulation".into(),
            functions: vec![civitas_types::org::OrgFunction::MarketRegulation],
        },
        crate::orgs::GenesisOrganization {
            did: did(11),
            kind: civitas_types::org::OrgKind::Department,
            name: "Housing".into(),
            functions: vec![],
        },
        crate::orgs::GenesisOrganization {
            did: did(12),
            kind: civitas_types::org::OrgKind::Department,
            name: "Civil Affairs".into(),
            functions: vec![],
        },
        crate::orgs::GenesisOrganization {
            did: did(13),
            kind: civitas_types::org::OrgKind::Department,
            name: "Tax Bureau".into(),
            functions: vec![civitas_types::org::OrgFunction::Tax],
        },
        crate::orgs::GenesisOrganization {
            did: did(14),
            kind: civitas_types::org::OrgKind::PaymentProvider,
            name: "Metro Fares".into(),
            functions: vec![],
        },
        crate::orgs::GenesisOrganization {
            did: did(15),
            kind: civitas_types::org::OrgKind::Company,
            name: "Metro Operator".into(),
            functions: vec![],
        },
        crate::orgs::GenesisOrganization {
            did: did(16),
            kind: civitas_types::org::OrgKind::Employer,
            name: "Employer One".into(),
            functions: vec![],
        },
        crate::orgs::GenesisOrganization {
            did: did(17),
            kind: civitas_types::org::OrgKind::Employer,
            name: "Employer Two".into(),
            functions: vec![],
        },
        crate::orgs::GenesisOrganization {
            did: did(18),
            kind: civitas_types::org::OrgKind::Manufacturer,
            name: "Kitchen Appliances".into(),
            functions: vec![],
        },
        crate::orgs::GenesisOrganization {
            did: did(19),
            kind: civitas_types::org::OrgKind::Department,
            name: "Product Certification".into(),
            functions: vec![civitas_types::org::OrgFunction::Certification],
        },
        org(1, Department, "Finance Bureau"),
        org(41, Department, "Education Bureau"),
        org(42, Company, "Builder"),
        org(43, Company, "Masonry"),
        org(44, Company, "Site Supervision"),
        org(45, Department, "Audit Office"),
        org(52, Company, "Letting Agent"),
        crate::orgs::GenesisOrganization {
            did: did(53),
            kind: Department,
            name: "Housing Bureau".into(),
            functions: vec![civitas_types::org::OrgFunction::Housing],
        },
        org(54, Company, "Metro Data"),
        org(55, Company, "Bus Planning"),
        crate::orgs::GenesisOrganization {
            did: did(56),
            kind: Department,
            name: "Transport Bureau".into(),
            functions: vec![civitas_types::org::OrgFunction::Transport],
        },
        org(57, Company, "Taxi Company"),
        org(58, Department, "Statistics Office"),
        org(59, Department, "Privacy Office"),
    ];
    let writes = {
        let mut bs = BlockState::new(&store);
        let mut tx = bs.begin_tx();
        accounts::apply_genesis(&mut tx, &genesis).expect("genesis");
        let dids: Vec<Did> = genesis.iter().map(|g| Did::from_initial_key(&g.public_key)).collect();
        crate::dids::apply_genesis(&mut tx, &dids, 1000);
        crate::orgs::apply_genesis(&mut tx, &departments);
        crate::council::apply_genesis(&mut tx, &[did(10), did(11), did(12)], 2);
        crate::council::apply_genesis_validators(&mut tx, (20..24).map(validator).collect());
        tx.commit();
        bs.into_writes()
    };
    let mut h = Harness { _dir: dir, store, clock_ms: 0 };
    h.commit(writes, vec![], vec![]);
    h
}

impl Harness {
    pub(crate) fn height(&self) -> u64 {
        self.store.latest().map_or(0, |c| c.height)
    }

    fn commit(&mut self, writes: civitas_state::Writes, txs: Vec<VerifiedTransaction>, receipts: Vec<TxReceipt>) {
        let height = self.store.latest().map_or(0, |c| c.height + 1);
        let update = self.store.prepare(writes, height).expect("prepare");
        let hashes: Vec<_> = txs.iter().map(|t| t.hash()).collect();
        let block = Block {
            header: BlockHeader {
                height,
                parent_hash: self.store.latest().map_or(GENESIS_PARENT, |c| c.block_hash),
                timestamp_ms: 1000 + height + self.clock_ms,
                proposer: key(1).public_key(),
                tx_count: txs.len() as u32,
                tx_root: Block::tx_root(&hashes),
                results_root: TxReceipt::results_root(&receipts),
                state_root: update.root(),
            },
            transactions: txs.into_iter().map(|t| t.signed().clone()).collect(),
        };
        self.store.commit(&block, &receipts, &update, b"test certificate").expect("commit");
    }

    /// Commits a block of raw state writes (to set up a state no transaction can reach).
    pub(crate) fn commit_writes(&mut self, writes: civitas_state::Writes) {
        self.commit(writes, vec![], vec![]);
    }

    /// Executes one block of `txs` and commits it; returns the receipts.
    pub(crate) fn block(&mut self, txs: Vec<VerifiedTransaction>) -> Vec<TxReceipt> {
        let height = self.height() + 1;
        let mut bs = BlockState::new(&self.store);
        let receipts =
            execute_block(&mut bs, &txs, BlockContext { height, timestamp_ms: 1000 + height + self.clock_ms })
                .expect("execute");
        let writes = bs.into_writes();
        self.commit(writes, txs, receipts.clone());
        receipts
    }

    /// Moves the clock of every later block `ms` on (blocks are otherwise 1 ms apart).
    pub(crate) fn advance(&mut self, ms: u64) {
        self.clock_ms += ms;
    }

    /// The next block's time, in unix seconds.
    pub(crate) fn next_secs(&self) -> u64 {
        (1000 + self.height() + 1 + self.clock_ms) / 1000
    }

    /// Executes `tx` in the next block and returns its outcome, committing nothing: the state
    /// stays as it was, so many attempts can run against one prepared state.
    pub(crate) fn try_run(&self, tx: VerifiedTransaction) -> TxOutcome {
        let height = self.height() + 1;
        let mut bs = BlockState::new(&self.store);
        let ctx = BlockContext { height, timestamp_ms: 1000 + height + self.clock_ms };
        execute_block(&mut bs, &[tx], ctx).expect("execute").remove(0).outcome
    }

    /// Runs one transaction in its own block and returns its outcome.
    pub(crate) fn run(&mut self, tx: VerifiedTransaction) -> TxOutcome {
        self.block(vec![tx]).remove(0).outcome
    }

    pub(crate) fn account(&self, n: u8) -> Option<Account> {
        accounts::query::account(&self.store, &did(n)).expect("read")
    }

    pub(crate) fn balance(&self, n: u8) -> Amount {
        self.account(n).map_or(0, |a| a.balance)
    }

    pub(crate) fn nonce(&self, n: u8) -> u64 {
        self.account(n).map_or(0, |a| a.nonce)
    }
}

/// A transaction from key `signer` with its next nonce, valid for 100 blocks.
pub(crate) fn tx(h: &Harness, signer: u8, instructions: Vec<Instruction>) -> VerifiedTransaction {
    tx_with(signer, h.nonce(signer), h.height() + 100, instructions)
}

pub(crate) fn tx_with(
    signer: u8,
    nonce: u64,
    valid_until_height: u64,
    instructions: Vec<Instruction>,
) -> VerifiedTransaction {
    let t = Transaction {
        chain_id: CHAIN.into(),
        signer: key(signer).public_key(),
        nonce,
        valid_until_height,
        instructions,
    };
    VerifiedTransaction::check(t.sign(&key(signer)), CHAIN).expect("well-formed test transaction")
}

pub(crate) fn failed_code(outcome: &TxOutcome) -> Option<&str> {
    match outcome {
        TxOutcome::Success => None,
        TxOutcome::Failed { code, .. } => Some(code),
    }
}

#[test]
fn every_block_has_its_own_root_and_tip() {
    let mut h = harness();
    let before = h.store.latest().expect("genesis").state_root;
    h.block(vec![]);
    let after = h.store.latest().expect("block 1");
    assert_ne!(before, after.state_root);
    assert_eq!(crate::chain_tip(&h.store).expect("read"), Some((1, 1001)));
}
