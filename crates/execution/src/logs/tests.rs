use civitas_types::device::testing::{CertSpec, TestKey};
use civitas_types::device::{DeviceInstruction, DeviceStatus};
use civitas_types::log::{LogInstruction, Range};
use civitas_types::{Hash, Instruction};

use super::query;
use crate::devices::tests::{bind, device_id, device_world, register, run as run_device};
use crate::tests::{Harness, did, failed_code, tx};

const OWNER: u8 = 2;
const GATEWAY: u8 = 3;
const STRANGER: u8 = 1;

fn run(h: &mut Harness, signer: u8, i: LogInstruction) -> Option<String> {
    let outcome = h.run(tx(h, signer, vec![Instruction::Logs(i)]));
    failed_code(&outcome).map(str::to_owned)
}

fn range(op: u8, first_seq: u64, last_seq: u64) -> Range {
    Range { device: device_id(op), first_seq, last_seq, last_hash: Hash([last_seq as u8; 32]) }
}

fn anchor(ranges: Vec<Range>) -> LogInstruction {
    let size = ranges.iter().map(Range::len).sum();
    LogInstruction::AnchorEvents { root: Hash([1; 32]), size, ranges }
}

/// The device world with two of the owner's devices (operational keys 40 and 41), their log
/// gateway not named yet.
fn log_world() -> Harness {
    let (mut h, pai) = device_world();
    for (dac_seed, op) in [(20, 40), (21, 41)] {
        let dac_key = TestKey::new(dac_seed);
        let dac = pai.issue(&CertSpec::dac(), &dac_key);
        assert_eq!(run_device(&mut h, OWNER, register(dac, &dac_key, op, 2)), None);
        assert_eq!(run_device(&mut h, OWNER, bind(op, OWNER, op)), None);
    }
    h
}

#[test]
fn a_gateway_the_owner_named_anchors_ranges_that_continue_each_head() {
    let mut h = log_world();
    let name =
        |op: u8, gateway: u8| LogInstruction::SetLogGateway { device: device_id(op), gateway: Some(did(gateway)) };
    assert_eq!(run(&mut h, GATEWAY, name(40, GATEWAY)).as_deref(), Some("not_the_owner"));
    assert_eq!(run(&mut h, OWNER, name(40, 99)).as_deref(), Some("unknown_did"));
    // Only the named gateway anchors.
    assert_eq!(run(&mut h, GATEWAY, anchor(vec![range(40, 0, 2)])).as_deref(), Some("not_the_gateway"));
    assert_eq!(run(&mut h, OWNER, name(40, GATEWAY)), None);
    assert_eq!(run(&mut h, OWNER, name(41, GATEWAY)), None);
    assert_eq!(run(&mut h, STRANGER, anchor(vec![range(40, 0, 2)])).as_deref(), Some("not_the_gateway"));
    // Malformed batches, each refused whole.
    assert_eq!(run(&mut h, GATEWAY, anchor(vec![])).as_deref(), Some("bad_field"));
    let wrong_size = LogInstruction::AnchorEvents { root: Hash([1; 32]), size: 2, ranges: vec![range(40, 0, 2)] };
    assert_eq!(run(&mut h, GATEWAY, wrong_size).as_deref(), Some("bad_field"));
    let backwards = Range { first_seq: 3, ..range(40, 0, 2) };
    assert_eq!(run(&mut h, GATEWAY, anchor(vec![backwards])).as_deref(), Some("bad_field"));
    assert_eq!(
        run(&mut h, GATEWAY, anchor(vec![range(40, 0, 1), range(40, 2, 3)])).as_deref(),
        Some("duplicate_device")
    );
    assert_eq!(run(&mut h, GATEWAY, anchor(vec![range(42, 0, 1)])).as_deref(), Some("unknown_device"));
    assert_eq!(run(&mut h, GATEWAY, anchor(vec![range(40, 1, 2)])).as_deref(), Some("sequence_gap"));
    // A later range's fault undoes the whole anchor: nothing of the first is kept.
    assert_eq!(run(&mut h, GATEWAY, anchor(vec![range(40, 0, 2), range(41, 5, 5)])).as_deref(), Some("sequence_gap"));
    assert_eq!(query::head(&h.store, &device_id(40)).expect("read").next_seq, 0);
    assert_eq!(query::anchor_count(&h.store).expect("read"), 0);
    // Right: both heads move; the anchor keeps each device's key.
    assert_eq!(run(&mut h, GATEWAY, anchor(vec![range(41, 0, 0), range(40, 0, 2)])), None);
    let head = query::head(&h.store, &device_id(40)).expect("read");
    assert_eq!((head.next_seq, head.last_hash, head.anchor), (3, Hash([2; 32]), 0));
    let a = query::anchor(&h.store, 0).expect("read").expect("anchor 0");
    assert_eq!((a.gateway, a.size, a.ranges.len()), (did(GATEWAY), 4, 2));
    assert_eq!(a.ranges[1].1, crate::tests::key(40).public_key());
    assert_eq!(a.locate(&device_id(40), 2).map(|(_, _, leaf)| leaf), Some(3));
    // No repeat, no gap: the next anchor starts where the head is.
    assert_eq!(run(&mut h, GATEWAY, anchor(vec![range(40, 2, 4)])).as_deref(), Some("sequence_repeat"));
    assert_eq!(run(&mut h, GATEWAY, anchor(vec![range(40, 4, 4)])).as_deref(), Some("sequence_gap"));
    assert_eq!(run(&mut h, GATEWAY, anchor(vec![range(40, 3, 3)])), None);
    assert_eq!(query::device_anchors(&h.store, &device_id(40), 0, 10).expect("read"), (2, vec![0, 1]));
    assert_eq!(query::device_anchors(&h.store, &device_id(41), 0, 10).expect("read"), (1, vec![0]));
    // The owner may name no gateway; then no one anchors.
    let none = LogInstruction::SetLogGateway { device: device_id(41), gateway: None };
    assert_eq!(run(&mut h, OWNER, none), None);
    assert_eq!(run(&mut h, GATEWAY, anchor(vec![range(41, 1, 1)])).as_deref(), Some("not_the_gateway"));
    // A decommissioned device logs nothing more.
    let retire = DeviceInstruction::SetDeviceStatus { device: device_id(40), status: DeviceStatus::Decommissioned };
    assert_eq!(run_device(&mut h, OWNER, retire), None);
    assert_eq!(run(&mut h, GATEWAY, anchor(vec![range(40, 4, 4)])).as_deref(), Some("device_decommissioned"));
}
