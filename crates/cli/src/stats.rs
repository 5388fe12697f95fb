//! `civitas stats`: statistics rounds by secure aggregation. The transport bureau defines a
//! round (a histogram or a vector of sums, the operators that may report, the aggregator
//! departments, the fewest reports and a deadline); each operator reports once, its measurement
//! split with Prio3 and each share sealed to one aggregator's HPKE key here, before anything
//! leaves the machine; anyone reads a round, its published total and a proof of it. The
//! aggregators' side is `civitas aggregator`.

use anyhow::{Context, bail};
use civitas_client::Client;
use civitas_client::stats::RoundJson;
use civitas_types::stats::vdaf::Value;
use civitas_types::stats::{Measurement, RoundStatus};
use civitas_types::{Did, Instruction, StatsInstruction};

use crate::common::{QueryOpts, TxOpts, print_json, submit};

/// Most rounds `stats list` asks for at once.
const ROUNDS_PAGE_MAX: u64 = 100;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum StatsCommand {
    /// Define a round, as an official of the transport bureau `--by`: a histogram
    /// (`--histogram N` buckets, each report one count) or a vector of sums (`--sum-vec N --max
    /// M`), the operators that may report, the aggregators (leader first), the fewest reports
    /// for a total and how many blocks it takes reports for.
    Define {
        #[command(flatten)]
        opts: TxOpts,
        /// What it counts, for people.
        #[arg(long)]
        title: String,
        /// A histogram of this many buckets (2 to 1,024).
        #[arg(long, required_unless_present = "sum_vec", conflicts_with = "sum_vec")]
        histogram: Option<u32>,
        /// A vector of this many sums (1 to 256).
        #[arg(long, requires = "max")]
        sum_vec: Option<u32>,
        /// With --sum-vec: the largest value one operator adds to one entry.
        #[arg(long, requires = "sum_vec")]
        max: Option<u64>,
        /// An operator that may report (3 to 64; repeat the flag or list them).
        #[arg(long = "operator", required = true, num_args = 1..)]
        operators: Vec<Did>,
        /// An aggregator department with an X25519 key agreement key in its DID document (2 to 4;
        /// the first is the leader).
        #[arg(long = "aggregator", required = true, num_args = 1..)]
        aggregators: Vec<Did>,
        /// The fewest reports for a total to be published (at least 3).
        #[arg(long)]
        min_reports: u32,
        /// How many blocks from now it takes reports for.
        #[arg(long)]
        deadline_blocks: u64,
        /// The transport bureau you act for.
        #[arg(long)]
        by: Did,
    },
    /// Report to a round, as an official of the operator `--by`: one count in a histogram's
    /// bucket, or a sum vector's values. The measurement is split and sealed here.
    Report {
        #[command(flatten)]
        opts: TxOpts,
        /// The round.
        #[arg(long)]
        round: u64,
        /// A histogram's bucket (from 0).
        #[arg(long, required_unless_present = "values", conflicts_with = "values")]
        bucket: Option<u32>,
        /// A sum vector's values, comma-separated.
        #[arg(long, value_delimiter = ',')]
        values: Option<Vec<u64>>,
        /// The operator you report for.
        #[arg(long)]
        by: Did,
    },
    /// A round: what it measures, who reports and aggregates, its counts, where it stands and,
    /// once published, its total.
    Show {
        /// Its number.
        id: u64,
        /// Print a proof document (JSON) instead.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        query: QueryOpts,
    },
    /// The rounds: each one's number, title and where it stands.
    List {
        /// The first round's number.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// At most this many (1 to 100).
        #[arg(long, default_value_t = ROUNDS_PAGE_MAX)]
        limit: u64,
        #[command(flatten)]
        query: QueryOpts,
    },
}

/// What `--histogram`, `--sum-vec` and `--max` define.
fn measurement(histogram: Option<u32>, sum_vec: Option<u32>, max: Option<u64>) -> anyhow::Result<Measurement> {
    let m = match (histogram, sum_vec, max) {
        (Some(length), None, None) => Measurement::Histogram { length },
        (None, Some(length), Some(max)) => Measurement::SumVec { length, max },
        _ => bail!("give --histogram N, or --sum-vec N with --max M"),
    };
    m.check().map_err(|why| anyhow::anyhow!(why))?;
    Ok(m)
}

/// What `--bucket` or `--values` report, checked against the round's measurement.
fn value(m: &Measurement, bucket: Option<u32>, values: Option<Vec<u64>>) -> anyhow::Result<Value> {
    match (*m, bucket, values) {
        (Measurement::Histogram { length }, Some(b), None) => {
            if b >= length {
                bail!("the round's histogram has buckets 0 to {}", length - 1);
            }
            Ok(Value::Bucket(b))
        }
        (Measurement::SumVec { length, max }, None, Some(v)) => {
            if v.len() != length as usize {
                bail!("the round sums {length} values; {} given", v.len());
            }
            if let Some(x) = v.iter().find(|x| **x > max) {
                bail!("{x} is over the round's maximum of {max} per entry");
            }
            Ok(Value::Vector(v))
        }
        (Measurement::Histogram { .. }, ..) => bail!("the round is a histogram: give --bucket"),
        (Measurement::SumVec { .. }, ..) => bail!("the round is a vector of sums: give --values"),
    }
}

fn measurement_text(m: &Measurement) -> String {
    match m {
        Measurement::Histogram { length } => format!("a histogram of {length} buckets"),
        Measurement::SumVec { length, max } => format!("a vector of {length} sums, at most {max} per report and entry"),
    }
}

fn print_round(view: &RoundJson) {
    let r = &view.round;
    println!("round {}: {} ({})", r.id, r.title, view.status.name());
    println!("  measures:    {}", measurement_text(&r.measurement));
    println!("  defined by:  {} at height {}", r.defined_by, r.height);
    println!("  operators:   {}", r.operators.iter().map(Did::to_string).collect::<Vec<_>>().join(", "));
    for (i, a) in r.aggregators.iter().enumerate() {
        let role = if i == 0 { "leader" } else { "helper" };
        println!("  aggregator {i} ({role}): {}", a.org);
    }
    println!("  deadline:    height {}", r.deadline);
    println!("  reports:     {} (at least {} for a total)", r.reports, r.min_reports);
    println!("  key shared:  {}", if r.key_shared { "yes" } else { "no" });
    println!("  decided:     {} ({} accepted, {} rejected)", r.decided, r.accepted, view.rejected);
    if view.status == RoundStatus::Published {
        let total: Vec<String> = r.total.iter().map(u128::to_string).collect();
        println!("  total:       [{}]", total.join(", "));
        println!("  published:   height {}", r.published_height.unwrap_or_default());
    }
}

/// Runs `civitas stats`: the changes exit as [`submit`] does; a round that is not there exits 1.
pub(crate) fn run(cmd: StatsCommand) -> anyhow::Result<u8> {
    match cmd {
        StatsCommand::Define {
            opts,
            title,
            histogram,
            sum_vec,
            max,
            operators,
            aggregators,
            min_reports,
            deadline_blocks,
            by,
        } => {
            let measurement = measurement(histogram, sum_vec, max)?;
            submit(
                opts,
                Instruction::Stats(StatsInstruction::DefineRound {
                    title,
                    measurement,
                    operators,
                    aggregators,
                    min_reports,
                    deadline_blocks,
                    by,
                }),
            )
        }
        StatsCommand::Report { opts, round, bucket, values, by } => {
            let client = Client::new(opts.node_url());
            let chain_id = client.status()?.chain_id;
            let view = client.stats_round(round)?.with_context(|| format!("no statistics round {round}"))?;
            if view.status != RoundStatus::Open {
                bail!("round {round} is {}: it takes no more reports", view.status.name());
            }
            let value = value(&view.round.measurement, bucket, values)?;
            let instruction = civitas_client::stats::report(&chain_id, &view.round, &value, by)
                .context("splitting and sealing the report")?;
            submit(opts, Instruction::Stats(instruction))
        }
        StatsCommand::Show { id, prove, query } => {
            let client = Client::new(&query.node);
            if prove {
                print_json(&client.prove_stats_round(id)?)?;
                return Ok(0);
            }
            let view = client.stats_round(id)?.with_context(|| format!("no statistics round {id}"))?;
            if query.json {
                print_json(&view)?;
            } else {
                print_round(&view);
            }
            Ok(0)
        }
        StatsCommand::List { from, limit, query } => {
            let client = Client::new(&query.node);
            let page = client.stats_rounds(from, limit)?;
            if query.json {
                print_json(&page)?;
                return Ok(0);
            }
            let total = page["total"].as_u64().unwrap_or(0);
            let ids: Vec<u64> = page["rounds"]
                .as_array()
                .map(|a| a.iter().filter_map(serde_json::Value::as_u64).collect())
                .unwrap_or_default();
            println!("rounds ({total} in all, from {from}):");
            for id in &ids {
                match client.stats_round(*id)? {
                    Some(v) => println!("  {id}: {} ({})", v.round.title, v.status.name()),
                    None => println!("  {id}: (not found)"),
                }
            }
            if let Some(last) = ids.last().filter(|l| **l + 1 < total) {
                println!("  … more from --from {}", last + 1);
            }
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(subcommand)]
        command: StatsCommand,
    }

    fn parse(args: &[&str]) -> Result<StatsCommand, clap::Error> {
        Cli::try_parse_from(std::iter::once("stats").chain(args.iter().copied())).map(|c| c.command)
    }

    const A: &str = "did:civitas:1111111111111111111111111111111111111111";
    const B: &str = "did:civitas:2222222222222222222222222222222222222222";
    const C: &str = "did:civitas:3333333333333333333333333333333333333333";

    fn define(measure: &[&str]) -> Result<StatsCommand, clap::Error> {
        let mut args = vec!["define", "--key", "k", "--title", "t"];
        args.extend_from_slice(measure);
        args.extend(["--operator", A, B, C, "--aggregator", A, "--aggregator", B]);
        args.extend(["--min-reports", "3", "--deadline-blocks", "20", "--by", C]);
        parse(&args)
    }

    #[test]
    fn define_takes_one_measurement_and_lists_of_dids() {
        let StatsCommand::Define { histogram, sum_vec, max, operators, aggregators, .. } =
            define(&["--histogram", "8"]).expect("histogram")
        else {
            panic!("not a definition");
        };
        assert_eq!(operators.len(), 3, "listed after one flag");
        assert_eq!(aggregators.len(), 2, "the flag repeated");
        assert_eq!(measurement(histogram, sum_vec, max).expect("ok"), Measurement::Histogram { length: 8 });
        let StatsCommand::Define { histogram, sum_vec, max, .. } =
            define(&["--sum-vec", "3", "--max", "100"]).expect("sum vec")
        else {
            panic!("not a definition");
        };
        assert_eq!(measurement(histogram, sum_vec, max).expect("ok"), Measurement::SumVec { length: 3, max: 100 });
        assert!(define(&[]).is_err(), "a measurement is required");
        assert!(define(&["--histogram", "8", "--sum-vec", "3", "--max", "1"]).is_err(), "only one");
        assert!(define(&["--sum-vec", "3"]).is_err(), "a sum vector needs its maximum");
        assert!(measurement(Some(1), None, None).is_err(), "a histogram has at least 2 buckets");
    }

    #[test]
    fn report_takes_a_bucket_or_values_that_fit_the_round() {
        let r = parse(&["report", "--key", "k", "--round", "0", "--values", "1,2,3", "--by", A]).expect("values");
        let StatsCommand::Report { values: Some(v), bucket: None, .. } = r else { panic!("values") };
        let m = Measurement::SumVec { length: 3, max: 10 };
        assert_eq!(value(&m, None, Some(v)).expect("fits"), Value::Vector(vec![1, 2, 3]));
        assert!(value(&m, None, Some(vec![1, 2])).is_err(), "too few");
        assert!(value(&m, None, Some(vec![1, 2, 11])).is_err(), "over the maximum");
        assert!(value(&m, Some(1), None).is_err(), "a bucket for a sum vector");
        let h = Measurement::Histogram { length: 4 };
        assert_eq!(value(&h, Some(3), None).expect("fits"), Value::Bucket(3));
        assert!(value(&h, Some(4), None).is_err(), "past the last bucket");
        assert!(parse(&["report", "--key", "k", "--round", "0", "--by", A]).is_err(), "a bucket or values");
        assert!(
            parse(&["report", "--key", "k", "--round", "0", "--bucket", "1", "--values", "1", "--by", A]).is_err(),
            "not both"
        );
        assert!(matches!(
            parse(&["show", "3", "--prove"]).expect("show"),
            StatsCommand::Show { id: 3, prove: true, .. }
        ));
        assert!(matches!(parse(&["list"]).expect("list"), StatsCommand::List { from: 0, limit: 100, .. }));
    }
}
