//! `civitas chaos bank`: Jepsen's bank workload on a local testnet of four validator
//! processes.
//!
//! Clients transfer money among a fixed set of accounts through all four nodes. Meanwhile a
//! nemesis kills validators (SIGKILL) and restarts them, pauses them (SIGSTOP, then SIGCONT)
//! and, where the machine allows user and network namespaces, cuts them off the network
//! (`chaos_net`): one fault at a time, so never more than f = 1 of the four is down.
//!
//! Each transfer ends one of three ways:
//! - acknowledged: a node said it committed (or failed in a block);
//! - refused: a node turned it away at admission;
//! - indeterminate: the answer was lost (timeout, dropped connection, a node that let it go).
//!
//! Every transfer is valid for a bounded number of blocks, so once the chain has passed that
//! height an indeterminate transfer has settled for good. The end check drives the chain past
//! it and reads it back:
//! - every node reaches a common height with the same block and state root;
//! - every acknowledged transfer is in the chain where the node said, and no refused one is;
//! - no bank transaction is in the chain that the clients did not send;
//! - each account's balance on every node is its initial balance plus the committed
//!   transfers, so the total is unchanged.
//!
//! Money also goes into the chain's escrows and comes back out meanwhile (`chaos_escrow`): a
//! public project's (funds) and two leases' (rentals). The end check balances those escrows
//! with the accounts: the total of accounts and escrows is unchanged.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use civitas_client::wire::{self, TxState};
use civitas_client::{Client, ClientError};
use civitas_types::codec::Encode as _;
use civitas_types::{AccountInstruction, Did, Hash, Instruction, SecretKey, Transaction};
use rustix::process::{Pid, Signal};

use crate::bench::{Target, start_chain, start_testnet};
use crate::bench_funds::balance;
use crate::chaos_escrow::{self, Action, Escrows, Progress, Role};
use crate::chaos_net::{self, Links};
use crate::testnet::Nodes;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum ChaosCommand {
    /// The bank workload: clients transfer among fixed accounts through all four validators of
    /// a local testnet while a nemesis kills and restarts validators (SIGKILL) and pauses them
    /// (SIGSTOP, SIGCONT), one at a time. Meanwhile money also goes into escrows and out again:
    /// a public project's (appropriations, milestone approvals and payments) and two leases'
    /// (deposits, rent). At the end: the total of balances and escrows unchanged, each account
    /// and escrow holding what the committed transactions left it, every acknowledged
    /// transaction in the chain, one block and state root at a common height on every node, no
    /// node stuck. Where this machine allows user and network namespaces (and has
    /// `ip` from iproute2), the nemesis also cuts a validator off the network: each validator
    /// gets a namespace of its own, and its link goes down for a while. Prints the counts; its
    /// last line is `violations=<n> acked=<n> kills=<n>`, and it exits 1 on any violation.
    Bank(BankArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct BankArgs {
    /// How long the clients and the nemesis run, in seconds (at most a day).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(5..=86_400))]
    duration: u64,
    /// Bank accounts.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(2..=256))]
    accounts: u64,
    /// Concurrent clients; each sends from its share of the accounts, one transfer in flight per
    /// account.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    clients: u64,
    /// Seed of the nemesis's schedule, the clients' choices and the accounts' keys (default:
    /// from the clock; printed, so a run can be repeated).
    #[arg(long)]
    seed: Option<u64>,
    /// Keep the testnet (its logs, its stores) in this directory, which must not hold one;
    /// without it a temp dir is used and removed.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Never cut a validator off the network (by default the nemesis does where this machine
    /// allows it, and says why not where it does not).
    #[arg(long)]
    no_cut_offs: bool,
}

/// Validators in the testnet; one fault at a time keeps the faulty within f = 1.
const VALIDATORS: u16 = 4;
/// Largest transfer, in minor units.
const AMOUNT_MAX: u64 = 100;
/// Blocks a transfer stays valid after the height its client last saw. Past them it can never
/// commit, so an indeterminate transfer settles.
const VALID_BLOCKS: u64 = 40;
/// A transfer not seen in a block this long after its submission is given up as indeterminate.
const CONFIRM_WAIT: Duration = Duration::from_secs(15);
/// Each request's limit: a paused node must not hold a client up for long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest the end check waits for the chain to pass the last transfer's validity, and for
/// every node to reach it.
const SETTLE_MAX: Duration = Duration::from_secs(240);
/// How long a fault lasts, and the healthy time between faults, in milliseconds.
const FAULT_MS: (u64, u64) = (1_000, 5_000);
const HEALTHY_MS: (u64, u64) = (1_000, 4_000);

/// splitmix64: the workload's choices, reproducible from the seed. Nothing here touches a
/// node's state: it only picks what to send and whom to stop.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub(crate) fn between(&mut self, (lo, hi): (u64, u64)) -> u64 {
        lo + self.below(hi - lo + 1)
    }
}

/// One transaction a client signed: a transfer, or a step of an escrow's workflow. If it takes
/// effect, it moves `amount` from the ledger `from` to the ledger `to` (an account, or an
/// escrow: see `chaos_escrow`).
#[derive(Debug, Clone)]
struct Sent {
    hash: Hash,
    from: usize,
    to: usize,
    amount: u64,
    valid_until: u64,
    /// What it is: `transfer`, `appropriation`, `rent payment`, ….
    kind: &'static str,
}

/// How a transfer ended, as far as its client knows.
#[derive(Debug, Clone)]
pub(crate) enum Fate {
    /// A node said it is in the block at `height` (`ok`: it took effect; otherwise it failed,
    /// with `code`).
    Acked { height: u64, ok: bool, code: Option<String> },
    /// A node refused it at admission, with this code.
    Refused(String),
    /// The client does not know: why.
    Indeterminate(&'static str),
}

/// What the clients share.
struct Workload {
    clients: Vec<Client>,
    /// Every signer: the bank's accounts (the first `bank`), then the escrows' signers.
    keys: Vec<SecretKey>,
    dids: Vec<Did>,
    roles: Vec<Role>,
    bank: usize,
    escrows: Escrows,
    chain_id: String,
    seed: u64,
    stop: AtomicBool,
    /// The highest height any request saw: the base of each transfer's validity.
    height: AtomicU64,
}

impl Workload {
    fn saw_height(&self, h: u64) {
        self.height.fetch_max(h, Ordering::Relaxed);
    }

    /// The account's next nonce, as a node that answers says.
    fn nonce(&self, rng: &mut Rng, account: usize) -> Option<u64> {
        let client = &self.clients[rng.below(self.clients.len() as u64) as usize];
        client.account(&self.dids[account]).ok().flatten().map(|a| a.nonce)
    }

    /// Every ledger as `client` sees it: each signer's account, then the escrows (see
    /// [`Escrows::read`]); and what the escrows hold.
    fn ledgers(&self, client: &Client) -> anyhow::Result<(Vec<u128>, u128)> {
        let mut ledgers = Vec::with_capacity(self.escrows.first_ledger + 1);
        for did in &self.dids {
            ledgers.push(balance(client, did)?);
        }
        let (escrows, escrowed) = self.escrows.read(client)?;
        ledgers.extend(escrows);
        Ok((ledgers, escrowed))
    }

    /// The next instruction of `signer`: a bank account's transfer to another, or an escrow
    /// signer's next step (`None` while it has nothing to do).
    fn action(&self, signer: usize, progress: &Progress, rng: &mut Rng) -> Option<Action> {
        if self.roles[signer] != Role::Bank {
            return self.escrows.next(self.roles[signer], signer, self.dids[signer], progress, rng);
        }
        let n = self.bank as u64;
        let to = ((signer as u64 + 1 + rng.below(n - 1)) % n) as usize;
        let amount = rng.between((1, AMOUNT_MAX));
        let instruction =
            Instruction::Accounts(AccountInstruction::Transfer { to: self.dids[to], amount: u128::from(amount) });
        Some(Action { instruction, from: signer, to, amount, kind: "transfer" })
    }

    /// One client: sends from `owned`, one transaction in flight per signer, until stopped.
    fn client(&self, index: u64, owned: &[usize]) -> Vec<(Sent, Fate)> {
        let mut rng = Rng(self.seed ^ (index + 1).wrapping_mul(0xd134_2543_de82_ef95));
        let mut nonces: BTreeMap<usize, Option<u64>> = owned.iter().map(|&a| (a, None)).collect();
        let mut in_flight: BTreeMap<usize, (Sent, Instant)> = BTreeMap::new();
        let mut progress = Progress::default();
        let mut done = Vec::new();
        while !self.stop.load(Ordering::Relaxed) {
            for &from in owned {
                if in_flight.contains_key(&from) {
                    continue;
                }
                let nonce = match nonces[&from] {
                    Some(nonce) => nonce,
                    None => match self.nonce(&mut rng, from) {
                        Some(nonce) => nonce,
                        None => continue,
                    },
                };
                nonces.insert(from, Some(nonce));
                let Some(action) = self.action(from, &progress, &mut rng) else { continue };
                let valid_until = self.height.load(Ordering::Relaxed) + VALID_BLOCKS;
                let tx = Transaction {
                    chain_id: self.chain_id.clone(),
                    signer: self.keys[from].public_key(),
                    nonce,
                    valid_until_height: valid_until,
                    instructions: vec![action.instruction],
                }
                .sign(&self.keys[from]);
                let sent = Sent {
                    hash: Hash::digest(&tx.encode()),
                    from: action.from,
                    to: action.to,
                    amount: action.amount,
                    valid_until,
                    kind: action.kind,
                };
                let client = &self.clients[rng.below(self.clients.len() as u64) as usize];
                match client.submit(&tx) {
                    Ok(_) => {
                        in_flight.insert(from, (sent, Instant::now()));
                    }
                    Err(ClientError::Api(problem)) => {
                        done.push((sent, Fate::Refused(problem.code)));
                        nonces.insert(from, None);
                    }
                    // The node may have admitted it before the answer was lost: find out below.
                    Err(_) => {
                        in_flight.insert(from, (sent, Instant::now()));
                    }
                }
            }
            let accounts: Vec<usize> = in_flight.keys().copied().collect();
            for from in accounts {
                let client = &self.clients[rng.below(self.clients.len() as u64) as usize];
                let (sent, at) = &in_flight[&from];
                let fate = match client.tx(&sent.hash) {
                    Ok(Some(s)) if matches!(s.status, TxState::Committed | TxState::Failed) => match s.height {
                        Some(height) => {
                            self.saw_height(height);
                            Some(Fate::Acked { height, ok: s.status == TxState::Committed, code: s.error_code })
                        }
                        None => Some(Fate::Indeterminate("committed without a height")),
                    },
                    Ok(Some(s)) if s.status == TxState::Dropped => Some(Fate::Indeterminate("dropped by a node")),
                    _ if at.elapsed() > CONFIRM_WAIT => Some(Fate::Indeterminate("not seen in a block in time")),
                    _ => None,
                };
                if let Some(fate) = fate {
                    let (sent, _) = in_flight.remove(&from).expect("taken from the keys");
                    progress.learn(self.roles[from], from, &fate);
                    let next = match fate {
                        Fate::Acked { .. } => Some(sent_nonce(&nonces, from) + 1),
                        _ => None,
                    };
                    nonces.insert(from, next);
                    done.push((sent, fate));
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        done.extend(in_flight.into_values().map(|(sent, _)| (sent, Fate::Indeterminate("in flight at the end"))));
        done
    }
}

fn sent_nonce(nonces: &BTreeMap<usize, Option<u64>>, account: usize) -> u64 {
    nonces.get(&account).copied().flatten().expect("an account in flight has a nonce")
}

/// The nemesis's tally.
#[derive(Debug, Default)]
struct Faults {
    kills: u64,
    pauses: u64,
    cut_offs: u64,
}

/// The nodes, with the nemesis's hold on them: dropping it resumes a paused node before the
/// testnet's own drop kills them all.
struct Cluster {
    nodes: Nodes,
    dir: PathBuf,
    paused: Option<usize>,
    /// The validators' network links, where the nemesis can cut them.
    links: Option<Links>,
}

impl Cluster {
    fn signal(&self, i: usize, signal: Signal) -> anyhow::Result<()> {
        let pid =
            i32::try_from(self.nodes.pids()[i]).ok().and_then(Pid::from_raw).context("process id out of range")?;
        rustix::process::kill_process(pid, signal).with_context(|| format!("signalling {}", self.nodes.name(i)))
    }

    /// One fault on a random validator, held for a random time, then healed.
    fn fault(&mut self, rng: &mut Rng, faults: &mut Faults, wait: &dyn Fn(Duration)) -> anyhow::Result<()> {
        let victim = rng.below(u64::from(VALIDATORS)) as usize;
        let hold = Duration::from_millis(rng.between(FAULT_MS));
        let name = self.nodes.name(victim).to_owned();
        let kinds = if self.links.is_some() { 3 } else { 2 };
        let kind = rng.below(kinds);
        if kind == 0 {
            self.nodes.kill(victim)?;
            faults.kills += 1;
            eprintln!("nemesis: killed {name}; restarting it in {} ms", hold.as_millis());
            wait(hold);
            self.nodes.restart(victim, &self.dir)?;
        } else if let (2, Some(links)) = (kind, self.links.as_mut()) {
            links.cut(victim)?;
            faults.cut_offs += 1;
            eprintln!("nemesis: cut {name} off the network for {} ms", hold.as_millis());
            wait(hold);
            links.heal(victim)?;
        } else {
            self.signal(victim, Signal::STOP)?;
            self.paused = Some(victim);
            faults.pauses += 1;
            eprintln!("nemesis: paused {name} for {} ms", hold.as_millis());
            wait(hold);
            self.signal(victim, Signal::CONT)?;
            self.paused = None;
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(i) = self.paused.take() {
            let _ = self.signal(i, Signal::CONT);
        }
    }
}

pub(crate) fn run(cmd: ChaosCommand) -> anyhow::Result<u8> {
    let ChaosCommand::Bank(args) = cmd;
    let mut no_cut_offs = args.no_cut_offs.then(|| "--no-cut-offs".to_owned());
    if no_cut_offs.is_none() && !chaos_net::inside() {
        match chaos_net::unavailable() {
            // The run goes on in namespaces of its own, where it can make links and cut them.
            None => return chaos_net::run_inside(),
            Some(why) => {
                eprintln!("bank: validators will not be cut off the network here: {why}");
                no_cut_offs = Some(why);
            }
        }
    }
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64) & 0xffff_ffff
    });
    eprintln!("bank: {VALIDATORS} validators, {} accounts, {} clients, seed {seed}", args.accounts, args.clients);
    let key = |what: &[u8], i: u64| {
        SecretKey::from_seed(
            Hash::digest_parts(&[b"civitas chaos bank", what, &seed.to_be_bytes(), &i.to_be_bytes()]).0,
        )
    };
    let mut keys: Vec<SecretKey> = (0..args.accounts).map(|i| key(b"account", i)).collect();
    let landlords: Vec<SecretKey> = (0..chaos_escrow::LEASES).map(|i| key(b"landlord", i)).collect();
    let tenants: Vec<SecretKey> = (0..chaos_escrow::LEASES).map(|i| key(b"tenant", i)).collect();
    // Outside the bank: its transfers move the chain past the last bank transfer's validity.
    let filler = [key(b"filler", 0), key(b"filler", 1)];
    let tmp = tempfile::tempdir().context("creating a temp dir for the testnet")?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let funded: Vec<SecretKey> = keys.iter().chain(&landlords).chain(&tenants).chain(&filler).cloned().collect();
    let (urls, nodes, links) = if no_cut_offs.is_none() {
        // Held long enough for the run, the end check and its settling, then given up.
        let hold = Duration::from_secs(args.duration) + 3 * SETTLE_MAX;
        let links = Links::new(usize::from(VALIDATORS), hold)?;
        let addrs: Vec<_> = (0..usize::from(VALIDATORS)).map(|i| links.addrs(i)).collect();
        let (urls, nodes) =
            start_testnet(&dir, &addrs, |i| links.launcher(i), &funded, civitas_node::STATE_HISTORY_DEFAULT)?;
        (urls, nodes, Some(links))
    } else {
        let (urls, target) = start_chain(&dir, VALIDATORS, &funded)?;
        let Target::Testnet(nodes) = target else { bail!("the bank workload runs on a testnet of validators") };
        (urls, nodes, None)
    };
    let mut cluster = Cluster { nodes, dir: dir.clone(), paused: None, links };
    let clients: Vec<Client> = urls.iter().map(|u| Client::with_timeout(u, REQUEST_TIMEOUT)).collect();
    let bank = keys.len();
    let (signers, escrows) =
        chaos_escrow::set_up(&clients[0], &dir.join("keys"), landlords, &tenants, bank, args.duration)?;
    let mut roles = vec![Role::Bank; bank];
    for (key, role) in signers {
        keys.push(key);
        roles.push(role);
    }
    let status = clients[0].status()?;
    let dids: Vec<Did> = keys.iter().map(|k| Did::from_initial_key(&k.public_key())).collect();
    let workload = Workload {
        clients,
        keys,
        dids,
        roles,
        bank,
        escrows,
        chain_id: status.chain_id.clone(),
        seed,
        stop: AtomicBool::new(false),
        height: AtomicU64::new(status.height),
    };
    // Nothing moves between setup and the clients' start: these are one height's ledgers.
    let (initial, _) = workload.ledgers(&workload.clients[0]).context("reading the ledgers after setup")?;
    let total: u128 = initial.iter().sum();

    let mut faults = Faults::default();
    let start = Instant::now();
    let window = Duration::from_secs(args.duration);
    let records: Vec<(Sent, Fate)> = std::thread::scope(|s| -> anyhow::Result<_> {
        // The bank's accounts shared out among the clients, and one more client for the
        // escrows' signers (whose workflows follow one another: a payment after its approval).
        let handles: Vec<_> = (0..=args.clients)
            .map(|c| {
                let owned: Vec<usize> = if c < args.clients {
                    (0..bank).filter(|a| *a as u64 % args.clients == c).collect()
                } else {
                    (bank..workload.keys.len()).collect()
                };
                let workload = &workload;
                s.spawn(move || workload.client(c, &owned))
            })
            .collect();
        // Sleeps in steps, keeping the clients' view of the height fresh.
        let wait = |d: Duration| {
            let until = Instant::now() + d;
            while Instant::now() < until {
                if let Some(h) = workload.clients.iter().find_map(|c| c.status().ok().map(|s| s.height)) {
                    workload.saw_height(h);
                }
                std::thread::sleep(Duration::from_millis(250).min(until.saturating_duration_since(Instant::now())));
            }
        };
        let mut rng = Rng(seed);
        let nemesis = (|| -> anyhow::Result<()> {
            while start.elapsed() < window {
                wait(Duration::from_millis(rng.between(HEALTHY_MS)).min(window.saturating_sub(start.elapsed())));
                if start.elapsed() < window {
                    cluster.fault(&mut rng, &mut faults, &wait)?;
                }
            }
            Ok(())
        })();
        workload.stop.store(true, Ordering::Relaxed);
        let records = handles.into_iter().flat_map(|h| h.join().expect("client threads do not panic")).collect();
        nemesis.map(|()| records)
    })?;
    eprintln!(
        "nemesis done after {} s: {} kills, {} pauses, {} cut-offs; checking...",
        start.elapsed().as_secs(),
        faults.kills,
        faults.pauses,
        faults.cut_offs
    );

    let mut violations: Vec<String> = Vec::new();
    let submissions = records.len();
    let records = merge_resubmissions(records, &mut violations);
    let settled = settle(&workload, &records, &filler, &mut violations)?;
    let mut chain: HashMap<Hash, (u64, bool)> = HashMap::new();
    let mut final_escrowed = 0;
    if let Some(height) = settled {
        check_nodes_agree(&workload.clients, height, &mut violations)?;
        chain = read_bank_transactions(&workload, status.height + 1, height, &mut violations)?;
        final_escrowed = check_balances(&workload, &records, &chain, &initial, total, &mut violations)?;
    }

    let tally = judge(&records, &chain, settled.is_some(), &mut violations);
    let Tally { acked, acked_failed, refused, refusals, indeterminate, resolved_ok, resolved_failed, resolved_never } =
        tally;
    let unsure: u64 = indeterminate.values().sum();
    println!("bank: seed {seed}, {} s of nemesis on {VALIDATORS} validators", args.duration);
    println!(
        "transactions: {} sent ({submissions} submissions); {acked} acknowledged ({acked_failed} of them failed in their block); {refused} refused at admission; {unsure} indeterminate",
        records.len()
    );
    let mut took_effect: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (sent, _) in &records {
        let (sent_n, ok) = took_effect.entry(sent.kind).or_default();
        *sent_n += 1;
        *ok += u64::from(chain.get(&sent.hash).is_some_and(|(_, ok)| *ok));
    }
    let kinds: Vec<String> = took_effect.iter().map(|(k, (n, ok))| format!("{k} {ok} of {n}")).collect();
    println!("  took effect, by kind: {}", kinds.join(", "));
    for (code, n) in &refusals {
        println!("  refused, {code}: {n}");
    }
    for (why, n) in &indeterminate {
        println!("  indeterminate, {why}: {n}");
    }
    println!(
        "  indeterminate, resolved from the chain: {resolved_ok} committed, {resolved_failed} failed in a block, {resolved_never} never committed (expired)"
    );
    println!(
        "nemesis: {} kills (SIGKILL, then restart), {} pauses (SIGSTOP, then SIGCONT), {} cut-offs (link down, then up), at most one validator at a time",
        faults.kills, faults.pauses, faults.cut_offs
    );
    if let Some(why) = &no_cut_offs {
        println!("  no cut-offs: {why}");
    }
    match settled {
        Some(h) => println!(
            "checked at height {h} on every node: blocks, state roots, balances and escrows (total {total}, of which {} in escrow)",
            final_escrowed
        ),
        None => println!("not checked: the chain did not settle"),
    }
    for v in &violations {
        println!("violation: {v}");
    }
    println!("violations={} acked={acked} kills={}", violations.len(), faults.kills);
    drop(cluster);
    Ok(if violations.is_empty() { 0 } else { 1 })
}

/// One record per transaction. A client may submit the same bytes again: an escrow step is sent
/// again unchanged after a lost answer, and a new transfer can come out identical to an earlier
/// one (same nonce and validity, same random payee and amount). A refusal of such a
/// resubmission (`already_pending`, or `syncing` from another node) says nothing about the
/// earlier submission, so a transaction's fate is what its submissions together say:
/// acknowledged if one was; otherwise indeterminate if one was; refused only if every
/// submission was. Two acknowledgements that disagree are a violation.
fn merge_resubmissions(records: Vec<(Sent, Fate)>, violations: &mut Vec<String>) -> Vec<(Sent, Fate)> {
    let mut merged: Vec<(Sent, Fate)> = Vec::with_capacity(records.len());
    let mut at: HashMap<Hash, usize> = HashMap::new();
    for (sent, fate) in records {
        let Some(&i) = at.get(&sent.hash) else {
            at.insert(sent.hash, merged.len());
            merged.push((sent, fate));
            continue;
        };
        let known = &mut merged[i].1;
        match (&*known, &fate) {
            (Fate::Acked { height, ok, .. }, Fate::Acked { height: h, ok: o, .. }) if (height, ok) != (h, o) => {
                violations.push(format!(
                    "transaction {} was acknowledged in block {height} ({ok}) and again in block {h} ({o})",
                    sent.hash
                ));
            }
            (Fate::Acked { .. }, _)
            | (Fate::Indeterminate(_), Fate::Refused(_) | Fate::Indeterminate(_))
            | (Fate::Refused(_), Fate::Refused(_)) => {}
            (_, Fate::Acked { .. }) | (Fate::Refused(_), _) => *known = fate,
        }
    }
    merged
}

/// The transfers' counts, by how each ended.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    acked: u64,
    acked_failed: u64,
    refused: u64,
    /// Refusals by their code (`syncing` from a node catching up, `nonce_used` after a lost
    /// answer, …).
    refusals: BTreeMap<String, u64>,
    indeterminate: BTreeMap<&'static str, u64>,
    resolved_ok: u64,
    resolved_failed: u64,
    resolved_never: u64,
}

/// Holds each transfer's fate against the settled chain (`chain`: the bank transactions in it,
/// by hash: height and whether it took effect). An acknowledged transfer must be where its
/// node said; a refused one must not be there; an indeterminate one is resolved by the chain.
/// Without a settled chain (`checked` false) only the counts are made.
fn judge(
    records: &[(Sent, Fate)],
    chain: &HashMap<Hash, (u64, bool)>,
    checked: bool,
    violations: &mut Vec<String>,
) -> Tally {
    let mut t = Tally::default();
    for (sent, fate) in records {
        let found = chain.get(&sent.hash).copied();
        match fate {
            Fate::Acked { height, ok, .. } => {
                t.acked += 1;
                t.acked_failed += u64::from(!ok);
                if checked && found != Some((*height, *ok)) {
                    violations.push(format!(
                        "transfer {} was acknowledged in block {height} ({}), but the chain has {found:?}",
                        sent.hash,
                        if *ok { "committed" } else { "failed" }
                    ));
                }
            }
            Fate::Refused(code) => {
                t.refused += 1;
                *t.refusals.entry(code.clone()).or_default() += 1;
                if found.is_some() {
                    violations.push(format!("transfer {} was refused ({code}) yet is in the chain", sent.hash));
                }
            }
            Fate::Indeterminate(why) => {
                *t.indeterminate.entry(why).or_default() += 1;
                match found {
                    Some((_, true)) => t.resolved_ok += 1,
                    Some((_, false)) => t.resolved_failed += 1,
                    None => t.resolved_never += 1,
                }
            }
        }
    }
    if checked {
        let sent: std::collections::HashSet<Hash> = records.iter().map(|(s, _)| s.hash).collect();
        for hash in chain.keys().filter(|h| !sent.contains(h)) {
            violations.push(format!("bank transaction {hash} is in the chain but no client sent it"));
        }
    }
    t
}

/// Each account's balance from its initial one and the transfers that took effect in `chain`.
fn expected_balances(records: &[(Sent, Fate)], chain: &HashMap<Hash, (u64, bool)>, initial: &[u128]) -> Vec<i128> {
    let mut expected: Vec<i128> = initial.iter().map(|b| *b as i128).collect();
    for (sent, _) in records {
        if chain.get(&sent.hash).is_some_and(|(_, ok)| *ok) {
            expected[sent.from] -= i128::from(sent.amount);
            expected[sent.to] += i128::from(sent.amount);
        }
    }
    expected
}

/// Moves the chain past every bank transfer's validity with filler transfers, then waits for
/// every node to reach that height. Returns the height, or `None` (with the violation) if the
/// chain or a node got stuck.
fn settle(
    workload: &Workload,
    records: &[(Sent, Fate)],
    filler: &[SecretKey; 2],
    violations: &mut Vec<String>,
) -> anyhow::Result<Option<u64>> {
    let target =
        records.iter().map(|(s, _)| s.valid_until).max().unwrap_or(0).max(workload.height.load(Ordering::Relaxed)) + 1;
    let start = Instant::now();
    let clients = &workload.clients;
    let to = Did::from_initial_key(&filler[1].public_key());
    let mut nonce = None;
    let mut i = 0u64;
    loop {
        let heights: Vec<Option<u64>> =
            clients.iter().map(|c| c.status().ok().filter(|s| !s.syncing).map(|s| s.height)).collect();
        if heights.iter().all(|h| h.is_some_and(|h| h >= target)) {
            return Ok(Some(target));
        }
        if start.elapsed() > SETTLE_MAX {
            let stuck: Vec<String> = heights
                .iter()
                .enumerate()
                .filter(|(_, h)| !h.is_some_and(|h| h >= target))
                .map(|(n, h)| format!("node-{n} at {}", h.map_or("no answer".to_owned(), |h| h.to_string())))
                .collect();
            violations.push(format!(
                "stuck: {} s after the nemesis stopped, not every node reached height {target}: {}",
                SETTLE_MAX.as_secs(),
                stuck.join(", ")
            ));
            return Ok(None);
        }
        // Filler transfers through the nodes in turn: each one asks for a block.
        let client = &clients[(i % clients.len() as u64) as usize];
        i += 1;
        let Some(status) = heights.iter().flatten().max().copied() else {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        };
        if status >= target {
            // The chain is there; the laggards catch up by themselves.
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        let next = match nonce {
            Some(n) => n,
            None => match client.account(&Did::from_initial_key(&filler[0].public_key())) {
                Ok(Some(a)) => a.nonce,
                _ => continue,
            },
        };
        let tx = Transaction {
            chain_id: workload.chain_id.clone(),
            signer: filler[0].public_key(),
            nonce: next,
            valid_until_height: status + 20,
            instructions: vec![Instruction::Accounts(AccountInstruction::Transfer { to, amount: 1 })],
        }
        .sign(&filler[0]);
        nonce = match client.submit(&tx).and_then(|h| client.wait_for(&h, Duration::from_secs(5))) {
            Ok(s) if matches!(s.status, TxState::Committed | TxState::Failed) => Some(next + 1),
            _ => None,
        };
    }
}

/// Every node has the same block, hence the same history, and the same state root at `height`.
fn check_nodes_agree(clients: &[Client], height: u64, violations: &mut Vec<String>) -> anyhow::Result<()> {
    let mut first: Option<(String, String)> = None;
    for (i, c) in clients.iter().enumerate() {
        let b = c.block(height, 0, 0)?.with_context(|| format!("node-{i} lacks block {height}"))?;
        match &first {
            None => first = Some((b.hash, b.state_root)),
            Some((hash, root)) if (hash, root) != (&b.hash, &b.state_root) => violations.push(format!(
                "node-{i} has block {} with state root {} at height {height}; node-0 has {hash} with {root}",
                b.hash, b.state_root
            )),
            Some(_) => {}
        }
    }
    Ok(())
}

/// The chain's transactions by the workload's signers from height `from` (the first after
/// setup) to `height`, read from node-0: hash → (height, took effect). One that no client sent
/// is a violation.
fn read_bank_transactions(
    workload: &Workload,
    from: u64,
    height: u64,
    violations: &mut Vec<String>,
) -> anyhow::Result<HashMap<Hash, (u64, bool)>> {
    let signers: Vec<String> = workload.keys.iter().map(|k| k.public_key().to_hex()).collect();
    let client = &workload.clients[0];
    let mut found = HashMap::new();
    for h in from..=height {
        let mut offset = 0u32;
        loop {
            let block =
                client.block(h, offset, wire::BLOCK_PAGE_MAX)?.with_context(|| format!("node-0 lacks block {h}"))?;
            for t in &block.transactions {
                if signers.contains(&t.signer) {
                    let hash = Hash::from_hex(&t.hash).map_err(|e| anyhow::anyhow!("{e}"))?;
                    if found.insert(hash, (h, t.status == TxState::Committed)).is_some() {
                        violations.push(format!("transaction {hash} is in the chain twice"));
                    }
                }
            }
            offset += block.transactions.len() as u32;
            if block.transactions.is_empty() || offset >= block.tx_count {
                break;
            }
        }
    }
    Ok(found)
}

/// Each ledger on every node (each signer's account, each escrow) holds its initial amount plus
/// what the committed transactions moved; the total is unchanged. Returns what node-0's
/// escrows hold.
fn check_balances(
    workload: &Workload,
    records: &[(Sent, Fate)],
    chain: &HashMap<Hash, (u64, bool)>,
    initial: &[u128],
    total: u128,
    violations: &mut Vec<String>,
) -> anyhow::Result<u128> {
    let expected = expected_balances(records, chain, initial);
    let escrows = &workload.escrows;
    let mut escrowed_at_node_0 = 0;
    for (i, c) in workload.clients.iter().enumerate() {
        let (ledgers, escrowed) = workload.ledgers(c).with_context(|| format!("reading node-{i}'s ledgers"))?;
        if i == 0 {
            escrowed_at_node_0 = escrowed;
        }
        for (l, (held, expect)) in ledgers.iter().zip(&expected).enumerate() {
            if *held as i128 != *expect {
                let name = if l < escrows.first_ledger {
                    format!("account {l} ({})", workload.dids[l])
                } else {
                    escrows.name(l)
                };
                violations.push(format!(
                    "node-{i}: {name} holds {held}, but its initial amount and the committed transactions give {expect}"
                ));
            }
        }
        let sum: u128 = ledgers.iter().sum();
        if sum != total {
            violations.push(format!("node-{i}: the accounts and escrows hold {sum} in all, not {total}"));
        }
    }
    Ok(escrowed_at_node_0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(n: u8, from: usize, to: usize, amount: u64) -> Sent {
        Sent { hash: Hash::digest(&[n]), from, to, amount, valid_until: 10, kind: "transfer" }
    }

    #[test]
    fn a_settled_chain_that_matches_every_fate_has_no_violation_and_resolves_the_indeterminate() {
        let records = vec![
            (sent(1, 0, 1, 5), Fate::Acked { height: 3, ok: true, code: None }),
            (sent(2, 1, 0, 7), Fate::Acked { height: 4, ok: false, code: Some("insufficient_funds".into()) }),
            (sent(3, 0, 1, 9), Fate::Refused("nonce_used".into())),
            (sent(4, 1, 0, 2), Fate::Indeterminate("in flight at the end")),
            (sent(5, 1, 0, 3), Fate::Indeterminate("in flight at the end")),
        ];
        let chain: HashMap<Hash, (u64, bool)> =
            [(records[0].0.hash, (3, true)), (records[1].0.hash, (4, false)), (records[3].0.hash, (6, true))].into();
        let mut violations = Vec::new();
        let tally = judge(&records, &chain, true, &mut violations);
        assert!(violations.is_empty(), "{violations:?}");
        assert_eq!((tally.acked, tally.acked_failed, tally.refused), (2, 1, 1));
        assert_eq!(tally.refusals.get("nonce_used"), Some(&1));
        assert_eq!((tally.resolved_ok, tally.resolved_failed, tally.resolved_never), (1, 0, 1));
        assert_eq!(tally.indeterminate.get("in flight at the end"), Some(&2));
        // Only transfers that took effect move money: 0 → 1 five, 1 → 0 two.
        assert_eq!(expected_balances(&records, &chain, &[100, 100]), vec![97, 103]);
    }

    #[test]
    fn lost_moved_refused_and_foreign_transactions_are_each_a_violation() {
        let records = vec![
            (sent(1, 0, 1, 5), Fate::Acked { height: 3, ok: true, code: None }),
            (sent(2, 0, 1, 5), Fate::Acked { height: 4, ok: true, code: None }),
            (sent(3, 0, 1, 5), Fate::Acked { height: 5, ok: true, code: None }),
            (sent(4, 0, 1, 5), Fate::Refused("expired".into())),
        ];
        let foreign = Hash::digest(b"someone else");
        let chain: HashMap<Hash, (u64, bool)> = [
            // 1 is lost; 2 moved to another block; 3 failed instead of committing.
            (records[1].0.hash, (9, true)),
            (records[2].0.hash, (5, false)),
            (records[3].0.hash, (6, true)),
            (foreign, (7, true)),
        ]
        .into();
        let mut violations = Vec::new();
        judge(&records, &chain, true, &mut violations);
        assert_eq!(violations.len(), 5, "{violations:#?}");
        assert!(violations.iter().any(|v| v.contains("refused (expired) yet is in the chain")));
        assert!(violations.iter().any(|v| v.contains(&foreign.to_string()) && v.contains("no client sent it")));
        // Unsettled, nothing is held against the chain.
        let mut unchecked = Vec::new();
        judge(&records, &HashMap::new(), false, &mut unchecked);
        assert!(unchecked.is_empty());
    }

    #[test]
    fn a_resubmission_refused_while_the_first_submission_commits_is_one_transaction_counted_once() {
        let same = sent(1, 0, 1, 5);
        let records = vec![
            (same.clone(), Fate::Indeterminate("not seen in a block in time")),
            (same.clone(), Fate::Refused("already_pending".into())),
            (sent(2, 1, 0, 3), Fate::Refused("syncing".into())),
            (sent(2, 1, 0, 3), Fate::Refused("nonce_used".into())),
            (sent(3, 0, 1, 7), Fate::Refused("syncing".into())),
            (sent(3, 0, 1, 7), Fate::Acked { height: 6, ok: true, code: None }),
            (sent(3, 0, 1, 7), Fate::Indeterminate("dropped by a node")),
        ];
        let mut violations = Vec::new();
        let merged = merge_resubmissions(records, &mut violations);
        assert!(violations.is_empty(), "{violations:?}");
        assert_eq!(merged.len(), 3);
        assert!(matches!(merged[0].1, Fate::Indeterminate(_)), "{:?}", merged[0]);
        assert!(matches!(&merged[1].1, Fate::Refused(code) if code == "syncing"), "{:?}", merged[1]);
        assert!(matches!(merged[2].1, Fate::Acked { height: 6, ok: true, .. }), "{:?}", merged[2]);
        // The first commits: no violation, and its money moves once.
        let chain: HashMap<Hash, (u64, bool)> = [(same.hash, (5, true)), (merged[2].0.hash, (6, true))].into();
        judge(&merged, &chain, true, &mut violations);
        assert!(violations.is_empty(), "{violations:?}");
        assert_eq!(expected_balances(&merged, &chain, &[100, 100]), vec![88, 112]);
        // Acknowledgements that disagree are a violation.
        let twice = vec![
            (same.clone(), Fate::Acked { height: 5, ok: true, code: None }),
            (same, Fate::Acked { height: 9, ok: true, code: None }),
        ];
        merge_resubmissions(twice, &mut violations);
        assert_eq!(violations.len(), 1, "{violations:?}");
    }

    #[test]
    fn the_workload_rng_is_reproducible_and_stays_in_range() {
        let (mut a, mut b) = (Rng(7), Rng(7));
        for _ in 0..1_000 {
            let x = a.between((1, AMOUNT_MAX));
            assert_eq!(x, b.between((1, AMOUNT_MAX)));
            assert!((1..=AMOUNT_MAX).contains(&x));
        }
    }
}
