//! `cordon screen`: screen reasons read from stdin, or score the screener on a labelled file.
use anyhow::Context;
use cordon_policy::screen::{FlagKind, Screener};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ScreenArgs {
    /// Instead of reading stdin, score the screener on a labelled TSV
    /// (`IMMIGRATION|NOT_IMMIGRATION|AMBIGUOUS <TAB> reason ...`; `#` lines are comments)
    /// and print precision, recall and every disagreement.
    #[arg(long, value_name = "TSV")]
    pub labeled: Option<PathBuf>,
}

pub fn run(args: ScreenArgs) -> anyhow::Result<ExitCode> {
    let screener = Screener::new();
    match args.labeled {
        Some(path) => score(&screener, &path),
        None => screen_stdin(&screener),
    }
}

fn screen_stdin(screener: &Screener) -> anyhow::Result<ExitCode> {
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut scratch = cordon_policy::Scratch::default();
    for (number, line) in stdin.lines().enumerate() {
        let line = line.with_context(|| format!("stdin line {} is not UTF-8 text", number + 1))?;
        let screening = screener.screen_with(&line, &mut scratch);
        let row = serde_json::json!({ "text": line, "flags": screening.flags });
        writeln!(out, "{row}").context("cannot write to stdout")?;
    }
    out.flush().context("cannot write to stdout")?;
    Ok(ExitCode::SUCCESS)
}

fn score(screener: &Screener, path: &PathBuf) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read labelled reasons {}", path.display()))?;
    let rows = cordon_policy::screen::eval::parse_labeled(&text)
        .with_context(|| format!("{} is not a labelled reasons file", path.display()))?;
    let report = cordon_policy::screen::eval::score(screener, &rows, FlagKind::CivilImmigration);
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}
