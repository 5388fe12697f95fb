//! Proof size and verification time for states of 10^4, 10^5 and 10^6 keys.
//!
//! `cargo bench -p civitas-client --bench proofs`. Building the 10^6-key state takes about a
//! minute; `CIVITAS_BENCH_MAX_KEYS=100000` stops earlier.

use civitas_client::light::verify_state;
use civitas_state::{Store, Writes};
use civitas_types::{Block, BlockHeader, GENESIS_PARENT, Hash, PublicKey, TxReceipt};
use criterion::{Criterion, criterion_group, criterion_main};

/// Writes `n` keys (account-sized values) in blocks of 100 000 and returns the store.
fn state_of(n: u64) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let chunk = 100_000u64;
    for (height, start) in (0..n).step_by(chunk as usize).enumerate() {
        let writes: Writes = (start..(start + chunk).min(n))
            .map(|i| (key(i), Some(Hash::digest(&i.to_be_bytes()).0.repeat(3))))
            .collect();
        let height = height as u64;
        let update = store.prepare(writes, height).expect("prepare");
        let block = Block {
            header: BlockHeader {
                height,
                parent_hash: store.latest().map_or(GENESIS_PARENT, |c| c.block_hash),
                timestamp_ms: height,
                proposer: PublicKey([0; 32]),
                tx_count: 0,
                tx_root: Block::tx_root(&[]),
                results_root: TxReceipt::results_root(&[]),
                state_root: update.root(),
            },
            transactions: vec![],
        };
        if height == 0 {
            store.commit_genesis(&block, &update, Hash::digest(b"bench")).expect("commit");
        } else {
            store.commit(&block, &[], &update, &[]).expect("commit");
        }
    }
    (dir, store)
}

/// A key, its value (if any) and its proof.
type KeyValueProof = (Vec<u8>, Option<Vec<u8>>, Vec<u8>);

fn key(i: u64) -> Vec<u8> {
    [b"acct/did/".as_slice(), &Hash::digest(&i.to_be_bytes()).0[..20]].concat()
}

fn proofs(c: &mut Criterion) {
    let max: u64 = std::env::var("CIVITAS_BENCH_MAX_KEYS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    for n in [10_000u64, 100_000, 1_000_000].into_iter().filter(|n| *n <= max) {
        let (_dir, store) = state_of(n);
        let latest = store.latest().expect("committed");
        let probes: Vec<u64> = (0..256).map(|i| (i * 7_919) % n).collect();
        let proven: Vec<KeyValueProof> = probes
            .iter()
            .map(|i| {
                let k = key(*i);
                let (v, p) = store.prove(&k, latest.height).expect("prove");
                (k, v, p)
            })
            .collect();
        let sizes: Vec<usize> = proven.iter().map(|(_, _, p)| p.len()).collect();
        let absent = store.prove(&key(n + 1), latest.height).expect("prove").1.len();
        eprintln!(
            "keys={n} proof_bytes: mean {} max {} (absence proof {absent})",
            sizes.iter().sum::<usize>() / sizes.len(),
            sizes.iter().max().copied().unwrap_or(0)
        );
        let mut i = 0;
        c.bench_function(&format!("verify_state_proof/{n}_keys"), |b| {
            b.iter(|| {
                let (k, v, p) = &proven[i % proven.len()];
                i += 1;
                verify_state(p, &latest.state_root, k, v.as_deref()).expect("valid")
            })
        });
        let mut j = 0;
        c.bench_function(&format!("prove/{n}_keys"), |b| {
            b.iter(|| {
                j += 1;
                store.prove(&key(probes[j % probes.len()]), latest.height).expect("prove")
            })
        });
    }
}

/// The certificate check, reported apart from the state proof: committees of 1, 4, 7 and 10.
fn certificates(c: &mut Criterion) {
    use civitas_client::light::{testing, verify_finalization};
    for n in [1u8, 4, 7, 10] {
        let vals = testing::validators(n);
        let public: Vec<PublicKey> = vals.iter().map(|k| k.public_key()).collect();
        let quorum = usize::from(n) - (usize::from(n) - 1) / 3;
        let signers: Vec<usize> = (0..quorum).collect();
        let block = Hash([1; 32]);
        let cert = testing::certificate(&vals, &signers, &block).expect("a quorum");
        eprintln!("validators={n} quorum={quorum} certificate_bytes={}", cert.len());
        c.bench_function(&format!("verify_certificate/{n}_validators"), |b| {
            b.iter(|| verify_finalization(&cert, &public, &block).expect("valid"))
        });
    }
}

criterion_group!(benches, proofs, certificates);
criterion_main!(benches);
