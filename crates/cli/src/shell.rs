//! `completions` and `man`: generated from the clap definitions in
//! [`crate::args`], so they never disagree with `--help`.

use std::path::{Path, PathBuf};

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

/// The command as the man pages show it: built, without the `help`
/// subcommand (no page is written for it, so none may be named), exactly as
/// `clap_mangen::generate_to` prepares it, so the printed page is the written
/// ssprctl.1.
fn man_command() -> clap::Command {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    command
}

/// `man --dir` could not write its pages.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the man pages to {}", .dir.display())]
pub struct WriteManPages {
    /// The directory named by `--dir`.
    dir: PathBuf,
    /// Why.
    #[source]
    source: std::io::Error,
}

/// Prints the man page (roff, section 1), or with `dir` writes it and one page
/// per command there (the pages the printed one's SUBCOMMANDS section names)
/// and lists the files written.
pub fn man(dir: Option<&Path>) -> Result<Outcome> {
    let Some(dir) = dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(man_command()).render(&mut page)?;
        write_out(&String::from_utf8_lossy(&page))?;
        return Ok(Outcome::Done);
    };
    let failed = |source| WriteManPages {
        dir: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    let command = man_command();
    clap_mangen::generate_to(command.clone(), dir).map_err(failed)?;
    // The pages generate_to writes: the command's and each visible
    // subcommand's (ssprctl has no deeper levels).
    let mut written = vec![dir.join(format!("{BIN}.1"))];
    written.extend(
        command
            .get_subcommands()
            .filter(|sub| !sub.is_hide_set())
            .map(|sub| dir.join(format!("{BIN}-{}.1", sub.get_name()))),
    );
    for path in written {
        write_out(&format!("{}\n", path.display()))?;
    }
    Ok(Outcome::Done)
}
