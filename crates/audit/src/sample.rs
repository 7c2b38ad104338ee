//! Synthetic Flock network-audit exports, clearly fake, for tests and the benchmark: the
//! 13-column layout, two-line Time Frame cells, `***` redactions, "[Federal]" organizations,
//! and reasons mixed as in public releases: half vague, a tenth case numbers only, about
//! 0.5% immigration reasons and 0.2% searches by immigration agencies (0.7% flagged), and
//! look-alikes.
use std::io::Write;

/// The 13-column header of the variant the public scanner reads.
pub const HEADER: &str = "ID,Name,Org Name,Total Networks Searched,Time Frame,License Plate,Reason,Case #,Filters,Search Time,Search Type,Text Prompt,Moderation";

const ORGS: [&str; 12] = [
    "Example City PD",
    "Example County Sheriff",
    "Sample Town Police Department",
    "[Federal] Federal Bureau of Investigation (FBI)",
    "State Police District 9",
    "Demo Village PD",
    "Test Harbor PD",
    "Placeholder County SO",
    "Mock Valley PD",
    "Fictional Springs PD",
    "Example University PD",
    "Sample Metro Transit Police",
];
/// Immigration agencies: about 2 searches in 1,000.
/// Immigration agencies: about 2 searches in 1,000. Public so tests can count what was
/// planted.
pub const IMMIGRATION_ORGS: [&str; 2] = [
    "[Federal] U.S. Immigration and Customs Enforcement (ICE)",
    "[Federal] U.S. Border Patrol",
];

/// Ordinary reasons, weighted as public releases are: vague ones dominate (the bare word
/// "investigation" was half of one department's searches).
const VAGUE_REASONS: [&str; 6] = [
    "Investigation",
    "investigation",
    "inv",
    "Criminal Investigation",
    "Other - Not Applicable",
    "***",
];
const REASONS: [&str; 24] = [
    "stolen vehicle",
    "burglary investigation",
    "missing person",
    "black ice crash follow-up",
    "hit and run",
    "narcotics",
    "police notice",
    "agg assault",
    "U visa certification for victim",
    "Warrant",
    "suspect vehicle",
    "BOLO",
    "10851 VC",
    "robbery 211 PC",
    "welfare check",
    "wanted person",
    "shoplifting - Walmart niceville",
    "ice cream truck theft",
    "ICAC investigation",
    "attempt to locate",
    "catalytic converter theft",
    "Larceny/Theft Offenses",
    "Motor Vehicle Theft/Stolen",
    "",
];
/// Immigration reasons: about 5 searches in 1,000. Public so tests can count what was
/// planted.
pub const IMMIGRATION_REASONS: [&str; 12] = [
    "ICE+ERO",
    "assist ICE",
    "immigration",
    "HSI-ERO case",
    "ICE detainer",
    "deportation order",
    "I-247A",
    "illegal alien locate",
    "287(g) task force",
    "assist Border Patrol",
    "la migra",
    "ICE WARRANT",
];

/// A tiny deterministic generator, so a given seed always makes the same file.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() as usize) % xs.len()]
    }
}

/// Writes a header and `rows` rows of a synthetic export.
pub fn write_flock_export(out: &mut impl Write, rows: u64, seed: u64) -> std::io::Result<()> {
    let mut r = Lcg(seed | 1);
    writeln!(out, "{HEADER}")?;
    for id in 0..rows {
        let org = if r.next() % 1000 < 2 {
            r.pick(&IMMIGRATION_ORGS)
        } else {
            r.pick(&ORGS)
        };
        let case_only;
        let roll = r.next() % 1000;
        let reason = if roll < 5 {
            r.pick(&IMMIGRATION_REASONS)
        } else if roll < 505 {
            r.pick(&VAGUE_REASONS)
        } else if roll < 605 {
            case_only = format!("25-{:06}", r.next() % 1_000_000);
            case_only.as_str()
        } else {
            r.pick(&REASONS)
        };
        let month = 1 + r.next() % 12;
        let day = 1 + r.next() % 28;
        let year = 2024 + r.next() % 2;
        let hour = 1 + r.next() % 12;
        let ampm = if r.next().is_multiple_of(2) {
            "AM"
        } else {
            "PM"
        };
        let plate = if r.next().is_multiple_of(5) {
            "***".to_string()
        } else {
            format!("FAKE{:03}", r.next() % 1000)
        };
        writeln!(
            out,
            "{id},Officer {n},\"{org}\",{nets},\"{month:02}/{day:02}/{year}, 12:00:00 AM UTC -\n{month:02}/{day:02}/{year}, 11:59:59 PM UTC\",{plate},\"{reason}\",CASE-{case},,\"{month:02}/{day:02}/{year}, {hour:02}:{min:02}:{sec:02} {ampm} UTC\",search,,",
            n = r.next() % 500,
            nets = 1 + r.next() % 7000,
            case = r.next() % 100_000,
            min = r.next() % 60,
            sec = r.next() % 60,
        )?;
    }
    Ok(())
}
