//! `civitas tx`: transfers, minting, account registration and key rotation.

use civitas_types::AccountInstruction;
use std::path::PathBuf;

use civitas_types::{Did, Instruction};

use crate::common::{TxOpts, load_key, submit};

/// The subcommands of `civitas tx`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum TxCommand {
    /// Move currency to another account.
    Transfer {
        #[command(flatten)]
        opts: TxOpts,
        /// The receiving DID.
        #[arg(long)]
        to: Did,
        /// Minor units.
        #[arg(long)]
        amount: u128,
    },
    /// Create currency in an account (finance role).
    Mint {
        #[command(flatten)]
        opts: TxOpts,
        /// The receiving DID.
        #[arg(long)]
        to: Did,
        /// Minor units.
        #[arg(long)]
        amount: u128,
    },
    /// Register the key's account.
    Register {
        #[command(flatten)]
        opts: TxOpts,
    },
    /// Move the account to a new key (give the new key's file).
    RotateKey {
        #[command(flatten)]
        opts: TxOpts,
        /// The new key file.
        #[arg(long)]
        new_key: PathBuf,
    },
}

/// Runs `civitas tx`; it exits as [`submit`] does.
pub(crate) fn run(cmd: TxCommand) -> anyhow::Result<u8> {
    let (opts, instruction) = match cmd {
        TxCommand::Transfer { opts, to, amount } => {
            (opts, Instruction::Accounts(AccountInstruction::Transfer { to, amount }))
        }
        TxCommand::Mint { opts, to, amount } => (opts, Instruction::Accounts(AccountInstruction::Mint { to, amount })),
        TxCommand::Register { opts } => (opts, Instruction::Accounts(AccountInstruction::RegisterAccount)),
        TxCommand::RotateKey { opts, new_key } => {
            let new = load_key(&new_key)?;
            let signer = load_key(opts.key_path())?;
            let did = opts.did().unwrap_or_else(|| Did::from_initial_key(&signer.public_key()));
            let proof = new.sign(&AccountInstruction::rotation_message(&did, &new.public_key()));
            (opts, Instruction::Accounts(AccountInstruction::RotateKey { new_key: new.public_key(), proof }))
        }
    };
    submit(opts, instruction)
}
