//! `kubepki version`: the version and how this binary was built (`--version` stays clap's
//! one line).

use clap::Args;

use crate::build_info::BuildInfo;
use crate::error::CliResult;
use crate::output::OutputFormat;

#[derive(Debug, Args)]
pub(crate) struct VersionArgs {
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub(crate) output: OutputFormat,
}

pub(crate) fn version(args: &VersionArgs) -> CliResult<()> {
    let info = BuildInfo::of_this_binary()?;
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&info)?),
        OutputFormat::Text => {
            let features = if info.features.is_empty() {
                "none".to_owned()
            } else {
                info.features.join(", ")
            };
            println!("kubepki {}", info.version);
            println!("git revision: {}", info.git_revision);
            println!("build date:   {}", info.build_date);
            println!("rustc:        {}", info.rustc);
            println!("features:     {features}");
            println!("target:       {}", info.target);
        }
    }
    Ok(())
}
