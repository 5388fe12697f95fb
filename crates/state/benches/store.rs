//! The store alone (`cargo bench -p civitas-state`): the cost of one block's state update, as
//! `Store::prepare` (hashing the writes into the Jellyfish Merkle Tree) plus `Store::commit`
//! (one fsync'd batch), for batches of 2,000 and 20,000 writes (half updates of existing keys,
//! four tenths new keys, one tenth deletes) over trees of 10^5 and 10^6 keys, and 10^7 where
//! asked: `CIVITAS_STORE_BENCH_KEYS=100000,1000000,10000000` (kept as an archive, or pruned
//! to N heights with `CIVITAS_STORE_BENCH_WINDOW=N`). Each case runs five blocks and
//! prints the median; the tree grows by its inserts as it runs. A line per case, then the disk
//! the store takes. Values are 64 bytes under 40-byte keys, like an account's record.
//!
//! Then the disk a write costs in steady state, archive against a pruning window: 300 blocks
//! of 2,000 updates over a tree of 10^5 keys, kept whole (`History::Archive`) and with a
//! window of 100 heights (`History::Window(100)`); a line each with the bytes the store grew
//! by per write on disk (deleted nodes leave the disk as the database compacts) and the tree's
//! live nodes and bytes before and after.

use std::time::Instant;

use civitas_state::{History, Store, StoreOptions, Writes};
use civitas_types::{Block, BlockHeader, GENESIS_PARENT, Hash, PublicKey, TxReceipt};

/// Writes per block while the tree is built.
const BUILD_BATCH: u64 = 50_000;
/// Blocks measured per case.
const RUNS: usize = 5;

fn key(i: u64) -> Vec<u8> {
    let mut k = b"civitas/bench/account/".to_vec();
    k.extend_from_slice(&Hash::digest(&i.to_be_bytes()).0[..18]);
    k
}

fn value(i: u64, round: u64) -> Vec<u8> {
    let mut v = Hash::digest(&[i.to_be_bytes(), round.to_be_bytes()].concat()).0.to_vec();
    v.extend_from_slice(&Hash::digest(&v).0);
    v
}

/// Commits `writes` as the next block; the time spent preparing and committing, in ms.
fn commit(store: &Store, writes: Writes) -> (f64, f64) {
    let height = store.latest().map_or(0, |c| c.height + 1);
    let parent = store.latest().map_or(GENESIS_PARENT, |c| c.block_hash);
    let start = Instant::now();
    let update = store.prepare(writes, height).expect("prepare");
    let prepared = start.elapsed().as_secs_f64() * 1000.0;
    let block = Block {
        header: BlockHeader {
            height,
            parent_hash: parent,
            timestamp_ms: height,
            proposer: PublicKey([0; 32]),
            tx_count: 0,
            tx_root: Block::tx_root(&[]),
            results_root: TxReceipt::results_root(&[]),
            state_root: update.root(),
        },
        transactions: vec![],
    };
    let start = Instant::now();
    if height == 0 {
        store.commit_genesis(&block, &update, Hash::digest(b"bench genesis")).expect("commit");
    } else {
        store.commit(&block, &[], &update, b"bench certificate").expect("commit");
    }
    (prepared, start.elapsed().as_secs_f64() * 1000.0)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let sizes: Vec<u64> = std::env::var("CIVITAS_STORE_BENCH_KEYS")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("CIVITAS_STORE_BENCH_KEYS is a comma-separated list of key counts"))
        .collect();
    for &size in &sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_with(dir.path(), StoreOptions { history: main_history(), kept_keys: Vec::new() })
            .expect("store");
        let start = Instant::now();
        let mut next = 0u64;
        while next < size {
            let end = (next + BUILD_BATCH).min(size);
            commit(&store, (next..end).map(|i| (key(i), Some(value(i, 0)))).collect());
            next = end;
        }
        let built_s = start.elapsed().as_secs_f64();
        settle(dir.path());
        let built_bytes = civitas_state::disk_bytes(dir.path());
        println!(
            "tree of {size} keys built in {built_s:.1} s ({:.1} µs a key), {built_bytes} bytes on disk",
            built_s * 1e6 / size as f64
        );
        let mut deleted = 0u64;
        for writes in [2_000u64, 20_000] {
            let (mut prepare, mut commit_ms, mut total) = (Vec::new(), Vec::new(), Vec::new());
            for run in 0..RUNS as u64 {
                let updates = writes / 2;
                let inserts = writes * 4 / 10;
                let deletes = writes - updates - inserts;
                let mut batch = Writes::new();
                // The live keys are `deleted..next`: deletes from its low end, updates spread
                // evenly over the rest, inserts past its end.
                let stride = ((next - deleted - deletes) / updates).max(1);
                for u in 0..updates {
                    let i = deleted + deletes + u * stride;
                    batch.insert(key(i), Some(value(i, run + 1)));
                }
                for d in 0..deletes {
                    batch.insert(key(deleted + d), None);
                }
                deleted += deletes;
                for i in next..next + inserts {
                    batch.insert(key(i), Some(value(i, 0)));
                }
                next += inserts;
                let (p, c) = commit(&store, batch);
                prepare.push(p);
                commit_ms.push(c);
                total.push(p + c);
            }
            let t = median(&mut total);
            println!(
                "keys={size} writes={writes} prepare_ms={:.1} commit_ms={:.1} total_ms={t:.1} us_per_write={:.2}",
                median(&mut prepare),
                median(&mut commit_ms),
                t * 1000.0 / writes as f64
            );
        }
        let bytes = civitas_state::disk_bytes(dir.path());
        println!("keys={size} disk_bytes={bytes} grown_by={}", bytes.saturating_sub(built_bytes));
    }
    steady_state(History::Archive);
    steady_state(History::Window(STEADY_WINDOW));
}

/// Waits (at most two minutes) for the database's background compaction of the build to calm
/// down, so the cases measure blocks, not the build's compaction: until the store's size moves
/// by less than 1% in 10 s.
fn settle(dir: &std::path::Path) {
    let start = Instant::now();
    let mut last = civitas_state::disk_bytes(dir);
    while start.elapsed() < std::time::Duration::from_secs(120) {
        std::thread::sleep(std::time::Duration::from_secs(10));
        let now = civitas_state::disk_bytes(dir);
        if now.abs_diff(last) * 100 < last {
            return;
        }
        last = now;
    }
}

/// The history the main cases keep: `CIVITAS_STORE_BENCH_WINDOW=N` prunes to N heights (as a
/// node does by default); every height is kept without it.
fn main_history() -> History {
    match std::env::var("CIVITAS_STORE_BENCH_WINDOW") {
        Ok(n) => History::Window(n.trim().parse().expect("CIVITAS_STORE_BENCH_WINDOW is a number of heights")),
        Err(_) => History::Archive,
    }
}

/// Heights kept in the pruned steady-state case.
const STEADY_WINDOW: u64 = 100;
/// Blocks of updates in a steady-state case.
const STEADY_BLOCKS: u64 = 300;
/// Keys in a steady-state case's tree.
const STEADY_KEYS: u64 = 100_000;

/// Disk per write once the tree is built: `STEADY_BLOCKS` blocks of 2,000 updates.
fn steady_state(history: History) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_with(dir.path(), StoreOptions { history, kept_keys: Vec::new() }).expect("store");
    for start in (0..STEADY_KEYS).step_by(BUILD_BATCH as usize) {
        commit(&store, (start..(start + BUILD_BATCH).min(STEADY_KEYS)).map(|i| (key(i), Some(value(i, 0)))).collect());
    }
    let built = civitas_state::disk_bytes(dir.path());
    let tree_at_start = store.tree_size().expect("scan").1;
    let writes = 2_000u64;
    let start = Instant::now();
    for round in 0..STEADY_BLOCKS {
        let stride = STEADY_KEYS / writes;
        commit(&store, (0..writes).map(|u| (key(u * stride + round % stride), Some(value(u, round + 1)))).collect());
    }
    let secs = start.elapsed().as_secs_f64();
    let grown = civitas_state::disk_bytes(dir.path()).saturating_sub(built);
    let (nodes, tree_bytes) = store.tree_size().expect("scan");
    println!(
        "steady history={history:?} blocks={STEADY_BLOCKS} writes_per_block={writes} us_per_write={:.2} disk_bytes_per_write={} tree_nodes={nodes} tree_bytes={tree_bytes} tree_bytes_at_start={tree_at_start} oldest_provable={}",
        secs * 1e6 / (STEADY_BLOCKS * writes) as f64,
        grown / (STEADY_BLOCKS * writes),
        store.oldest_provable()
    );
}
