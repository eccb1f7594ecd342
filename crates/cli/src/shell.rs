//! `completions` and `man`: generated from the clap definitions in
//! [`crate::args`], so they never disagree with `--help`.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::args::Cli;
use crate::out::write_out;
use crate::{Outcome, Result};

/// The name the scripts complete: the installed binary's.
const BIN: &str = "ssprctl";

/// Prints the completion script for `shell`.
pub fn completions(shell: Shell) -> Result<Outcome> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut script);
    write_out(&String::from_utf8_lossy(&script))?;
    Ok(Outcome::Done)
}

/// Prints the man page (roff, section 1).
pub fn man() -> Result<Outcome> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    write_out(&String::from_utf8_lossy(&page))?;
    Ok(Outcome::Done)
}
