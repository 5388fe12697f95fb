//! Read-only views of statistics rounds, for the API, the aggregators and the tests.

use civitas_state::{StateRead, StoreError};
use civitas_types::stats::{Report, Round, StatsList, aggregate_key, prep_key, report_key, round_key, verify_key_key};

use crate::counters::{read_u64, record};

/// Round `id`.
pub fn round(state: &impl StateRead, id: u64) -> Result<Option<Round>, StoreError> {
    record(state, &round_key(id), "round")
}

/// Report `index` of round `round`.
pub fn report(state: &impl StateRead, round: u64, index: u32) -> Result<Option<Report>, StoreError> {
    record(state, &report_key(round, index), "report")
}

/// Aggregator `aggregator`'s preparation share of report `index`, once posted.
pub fn prep_share(
    state: &impl StateRead,
    round: u64,
    index: u32,
    aggregator: u8,
) -> Result<Option<Vec<u8>>, StoreError> {
    state.get(&prep_key(round, index, aggregator))
}

/// Aggregator `aggregator`'s aggregate share, once posted.
pub fn aggregate_share(state: &impl StateRead, round: u64, aggregator: u8) -> Result<Option<Vec<u8>>, StoreError> {
    state.get(&aggregate_key(round, aggregator))
}

/// The verification key the leader sealed for helper `aggregator`.
pub fn sealed_verify_key(state: &impl StateRead, round: u64, aggregator: u8) -> Result<Option<Vec<u8>>, StoreError> {
    state.get(&verify_key_key(round, aggregator))
}

/// How many rounds there are (numbered from 0).
pub fn rounds(state: &impl StateRead) -> Result<u64, StoreError> {
    read_u64(state, &StatsList::Rounds.count_key())
}
