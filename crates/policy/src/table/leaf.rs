//! One leaf of a compiled policy: a Cedar expression (or a whole policy) small enough to
//! tabulate, with its truth value in every cell of its own dimensions, each cell filled by
//! asking Cedar on a request built from that cell's representative values. Filling the
//! table is the proof that it answers as Cedar does, for every value each dimension can
//! take: values in one class are ones the expression cannot tell apart (see `scan`).

use super::dims::{Dim, Kind, Values};
use super::domain::{Classes, Domain};
use super::scan::Reads;
use crate::engine::Engine;
use cedar_policy::PolicySet;

#[derive(Debug)]
struct Axis {
    dim: Dim,
    stride: usize,
    /// Stack-wide class to this leaf's class.
    map: Vec<u16>,
}

#[derive(Debug)]
pub(crate) struct Leaf {
    axes: Vec<Axis>,
    truth: Vec<bool>,
}

impl Leaf {
    /// Tabulates `set` (one policy) over what `reads` says it reads. Fails if Cedar
    /// reports an error in any cell: the table has no place for one.
    pub fn fill(
        set: &PolicySet,
        reads: &Reads,
        domain: &Domain,
        engine: &Engine,
    ) -> Result<Leaf, String> {
        let mut axes = Vec::new();
        let mut stride = 1usize;
        for (&dim, lits) in &reads.lits {
            let map = (0..domain.count(dim))
                .map(|g| local_class(domain, dim, g, lits))
                .collect();
            axes.push(Axis { dim, stride, map });
            stride *= reads.classes(dim);
        }
        let mut truth = Vec::with_capacity(stride);
        let mut values = domain.base();
        for cell in 0..stride {
            set_cell(&mut values, reads, domain, cell);
            truth.push(satisfied(set, &values, engine)?);
        }
        Ok(Leaf { axes, truth })
    }

    /// This leaf's value for a request of stack-wide classes `g`.
    pub fn value(&self, g: &Classes) -> bool {
        let cell = self
            .axes
            .iter()
            .map(|a| usize::from(a.map[usize::from(g[a.dim.index()])]) * a.stride)
            .sum::<usize>();
        self.truth.get(cell).copied().unwrap_or(false)
    }

    pub fn cells(&self) -> usize {
        self.truth.len()
    }
}

/// The leaf class of stack-wide class `g` of `dim`: which of the leaf's literals it is.
fn local_class(
    domain: &Domain,
    dim: Dim,
    g: usize,
    lits: &std::collections::BTreeSet<String>,
) -> u16 {
    let global = domain.lits(dim);
    let class = match dim.kind() {
        Kind::YesNo => g,
        Kind::Text => global
            .get(g)
            .and_then(|lit| lits.iter().position(|l| l == lit))
            .unwrap_or(lits.len()),
        Kind::Words => lits
            .iter()
            .enumerate()
            .filter(|(_, l)| {
                global
                    .iter()
                    .position(|w| w == *l)
                    .is_some_and(|bit| g & (1 << bit) != 0)
            })
            .fold(0, |mask, (i, _)| mask | (1 << i)),
    };
    u16::try_from(class).unwrap_or(u16::MAX)
}

/// Sets the leaf's dimensions of `values` to the representatives of `cell`.
fn set_cell(values: &mut Values, reads: &Reads, domain: &Domain, mut cell: usize) {
    for (&dim, lits) in &reads.lits {
        let n = reads.classes(dim);
        let class = cell % n;
        cell /= n;
        let i = dim.index();
        match dim.kind() {
            Kind::YesNo => values.yes_no[i] = class == 1,
            Kind::Text => {
                values.text[i] = match lits.iter().nth(class) {
                    Some(lit) => lit.clone(),
                    None => domain.other(dim).to_owned(),
                }
            }
            Kind::Words => {
                values.words = lits
                    .iter()
                    .enumerate()
                    .filter(|(bit, _)| class & (1 << bit) != 0)
                    .map(|(_, w)| w.clone())
                    .collect();
            }
        }
    }
}

fn satisfied(set: &PolicySet, values: &Values, engine: &Engine) -> Result<bool, String> {
    let words: Vec<&str> = values.words.iter().map(String::as_str).collect();
    let facts = values.facts(&words);
    let request = engine.request(&facts)?;
    let response = engine.authorize(&request, set);
    if let Some(e) = response.diagnostics().errors().next() {
        return Err(format!("fails to evaluate on {facts:?}: {e}"));
    }
    let satisfied = response.diagnostics().reason().next().is_some();
    Ok(satisfied)
}
