//! `kubepki man DIR`: one man page per command and subcommand (`kubepki.1`,
//! `kubepki-certs-renew.1`, ...), generated from the command line's own definition by
//! clap_mangen. No existing page is replaced without `--force`; each is written atomically.

use std::path::PathBuf;

use clap::Args;
use clap_mangen::Man;
use kubepki_fs::{FileKind, FileWrite, write_atomic_all};

use crate::build_info::BuildInfo;
use crate::error::{CliError, CliResult};
use crate::files::{overwrite, refuse_existing};

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// The folder to write the pages into (created when missing), e.g.
    /// /usr/local/share/man/man1.
    pub(crate) dir: PathBuf,
    /// Replace pages that exist.
    #[arg(long)]
    pub(crate) force: bool,
}

/// One rendered page: its file name and its roff source.
struct Page {
    file_name: String,
    roff: Vec<u8>,
}

/// Writes the pages of `command` and its subcommands into the folder.
pub(crate) fn man(args: &ManArgs, command: clap::Command) -> CliResult<()> {
    let info = BuildInfo::of_this_binary()?;
    // Built once, so that each subcommand's display name is `kubepki-certs-renew`.
    let mut command = command.disable_help_subcommand(true);
    command.build();
    let mut pages = Vec::new();
    let source = format!("kubepki {}", info.version);
    render_pages(&command, &source, info.build_day(), &mut pages)?;
    let paths: Vec<PathBuf> = pages.iter().map(|p| args.dir.join(&p.file_name)).collect();
    refuse_existing(&paths, args.force)?;
    let files: Vec<FileWrite<'_>> = pages
        .iter()
        .zip(&paths)
        .map(|(page, path)| FileWrite {
            path,
            bytes: &page.roff,
            kind: FileKind::Public,
        })
        .collect();
    write_atomic_all(&files, overwrite(args.force))?;
    for path in &paths {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The page of `command`, then those of its visible subcommands, depth first; `source` and
/// `date` are the pages' footer.
fn render_pages(
    command: &clap::Command,
    source: &str,
    date: &str,
    pages: &mut Vec<Page>,
) -> CliResult<()> {
    let man = Man::new(command.clone()).source(source).date(date);
    let mut roff = Vec::new();
    man.render(&mut roff).map_err(|e| {
        CliError(format!(
            "cannot render the man page of {}: {e}",
            command.get_name()
        ))
    })?;
    pages.push(Page {
        file_name: man.get_filename(),
        roff,
    });
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        render_pages(sub, source, date, pages)?;
    }
    Ok(())
}
